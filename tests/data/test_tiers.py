"""Tiers from trailing spend: thresholds, the window, kept source tiers, and no leakage past the cutoff."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from engine.config import CONFIG_DIR
from engine.data.schema import Dataset
from engine.data.tiers import (
    TiersConfig,
    build_members,
    derive_tiers,
    load_tiers_config,
    with_tiers_as_of,
)
from engine.errors import ConfigError, DataValidationError

CONFIG = TiersConfig.model_validate(
    {"window_weeks": 4, "thresholds": {"silver": 10, "gold": 20, "diamond": 40}}
)


def _tx(rows: list[tuple[int, int, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["member_id", "week", "sales_value"])


def test_thresholds_are_inclusive_lower_bounds() -> None:
    tx = _tx([(1, 1, 9.99), (2, 1, 10.0), (3, 1, 20.0), (4, 1, 39.0), (5, 1, 40.0)])
    out = derive_tiers(tx, as_of_week=2, config=CONFIG)
    assert out["tier"].tolist() == ["bronze", "silver", "gold", "gold", "diamond"]
    assert out["spend_52w"].tolist() == [9.99, 10.0, 20.0, 39.0, 40.0]


def test_window_counts_only_the_trailing_weeks() -> None:
    tx = _tx([(1, 1, 100.0), (1, 5, 5.0), (1, 8, 6.0)])
    out = derive_tiers(tx, as_of_week=9, config=CONFIG)  # window = weeks 5..8
    assert out["spend_52w"].item() == 11.0
    assert out["tier"].item() == "silver"


def test_purchases_at_or_after_the_cutoff_do_not_change_tiers() -> None:
    base = _tx([(1, 3, 12.0), (2, 4, 1.0)])
    huge = pd.concat([base, _tx([(2, 5, 1e9), (1, 6, 1e9), (3, 5, 1e9)])], ignore_index=True)
    before, after = derive_tiers(base, 5, CONFIG), derive_tiers(huge, 5, CONFIG)
    pd.testing.assert_frame_equal(before, after.loc[after["member_id"] != 3].reset_index(drop=True))
    assert after.set_index("member_id").loc[3, "tier"] == "bronze"  # seen only after the cutoff


def test_as_of_on_a_dataset_ignores_later_spend(synthetic_dataset: Dataset) -> None:
    config = load_tiers_config()
    early = with_tiers_as_of(synthetic_dataset, 10, config)
    boosted_tx = synthetic_dataset.transactions.copy()
    boosted_tx.loc[boosted_tx["week"] >= 10, "sales_value"] *= 1000
    boosted = Dataset(boosted_tx, synthetic_dataset.catalog, synthetic_dataset.members, "boosted")
    pd.testing.assert_frame_equal(early.members, with_tiers_as_of(boosted, 10, config).members)


def test_tier_carried_by_member_data_is_kept() -> None:
    tx = _tx([(1, 1, 100.0), (2, 1, 100.0)])
    given = pd.DataFrame({"member_id": [1, 2, 9], "tier": ["Bronze", None, "gold"]})
    out = build_members(tx, 2, CONFIG, given=given).set_index("member_id")
    assert out["tier"].to_dict() == {1: "bronze", 2: "diamond", 9: "gold"}
    assert out.loc[9, "spend_52w"] == 0.0


def test_invalid_carried_tier_refused() -> None:
    given = pd.DataFrame({"member_id": [1], "tier": ["platinum"]})
    with pytest.raises(DataValidationError, match="platinum"):
        build_members(_tx([(1, 1, 1.0)]), 2, CONFIG, given=given, where="members.csv")


def test_thresholds_must_increase(tmp_path: Path) -> None:
    path = tmp_path / "tiers.toml"
    path.write_text("[thresholds]\nsilver = 10\ngold = 5\ndiamond = 40\n")
    with pytest.raises(ConfigError, match="thresholds must increase"):
        load_tiers_config(path)


def test_shipped_config_loads() -> None:
    config = load_tiers_config(CONFIG_DIR / "tiers.toml")
    assert config.window_weeks == 52
