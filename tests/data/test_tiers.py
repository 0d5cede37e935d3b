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


def test_tier_drops_find_the_tier_lost_and_the_week_it_was_lost() -> None:
    from engine.data.tiers import tier_drops

    # window 4 weeks; as of week 10 the window is weeks 6..9
    tx = _tx(
        [
            (1, 3, 25.0),  # gold while week 3 is in the window (cutoffs 4..7), bronze from cutoff 8
            (2, 8, 25.0),  # gold now: never dropped
            (3, 2, 45.0),  # diamond until cutoff 6, bronze after: too long ago for lookback 3
            (4, 5, 12.0),  # silver at cutoffs 6..9, bronze at 10: dropped at 10
            (4, 9, 1.0),
        ]
    )
    out = tier_drops(tx, as_of_week=10, config=CONFIG, lookback_weeks=3).set_index("member_id")
    assert out.loc[1, "previous_tier"] == "gold"
    assert out.loc[1, "dropped_week"] == 8
    assert pd.isna(out.loc[2, "previous_tier"])
    assert pd.isna(out.loc[2, "dropped_week"])
    assert pd.isna(out.loc[3, "previous_tier"])  # diamond last held at cutoff 6 < 10 - 3
    assert (out.loc[4, "previous_tier"], out.loc[4, "dropped_week"]) == ("silver", 10)
    # the tier now is derive_tiers' tier (one implementation)
    now = derive_tiers(tx, 10, CONFIG).set_index("member_id")["tier"]
    assert now.loc[1] == "bronze"
    assert now.loc[4] == "bronze"


def test_tier_drops_ignore_spend_at_or_after_the_cutoff() -> None:
    from engine.data.tiers import tier_drops

    base = _tx([(1, 3, 25.0)])
    later = pd.concat([base, _tx([(1, 10, 1e6), (1, 12, 1e6)])], ignore_index=True)
    pd.testing.assert_frame_equal(tier_drops(base, 10, CONFIG, 4), tier_drops(later, 10, CONFIG, 4))


def test_tier_drop_lookback_must_be_positive() -> None:
    from engine.data.tiers import tier_drops

    with pytest.raises(ValueError, match="lookback_weeks must be at least 1"):
        tier_drops(_tx([(1, 3, 25.0)]), 10, CONFIG, 0)
