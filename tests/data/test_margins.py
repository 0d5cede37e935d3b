"""Margin rates: item > catalog > category > department > default; exclusions at every level."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from engine.config import CONFIG_DIR
from engine.data.margins import MarginsConfig, apply_margins, load_margins_config, unmatched_keys
from engine.errors import ConfigError


def _catalog() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item_id": [1, 2, 3, 4, 5],
            "category": ["APPLES", "MILK", "CIGARETTES", "CEREAL", "GAS"],
            "department": ["PRODUCE", "GROCERY", "DRUG GM", "GROCERY", "FUEL"],
        }
    )


CONFIG = MarginsConfig.model_validate(
    {
        "default": 0.2,
        "departments": {"PRODUCE": 0.35, "GROCERY": 0.25},
        "categories": {"MILK": 0.1},
        "items": {"4": 0.05},
        "exclude": {"departments": ["FUEL"], "categories": ["CIGARETTES"], "items": [2]},
    }
)


def test_most_specific_rate_wins() -> None:
    out = apply_margins(_catalog(), CONFIG)
    assert out["margin_rate"].tolist() == [0.35, 0.1, 0.2, 0.05, 0.2]


def test_catalog_rate_beats_config_except_item_override() -> None:
    catalog = _catalog().assign(margin_rate=[0.5, None, None, 0.4, None])
    out = apply_margins(catalog, CONFIG)
    assert out["margin_rate"].tolist() == [0.5, 0.1, 0.2, 0.05, 0.2]


def test_exclusions_by_department_category_item_and_catalog_flag() -> None:
    out = apply_margins(_catalog().assign(excluded=[True, False, False, False, False]), CONFIG)
    assert out["excluded"].tolist() == [True, True, True, False, True]


@pytest.mark.parametrize("rate", [1.0, -0.1, 1.5])
def test_rates_outside_unit_interval_refused(tmp_path: Path, rate: float) -> None:
    path = tmp_path / "margins.toml"
    path.write_text(f"default = 0.2\n[categories]\nMILK = {rate}\n")
    with pytest.raises(ConfigError, match=r"categories\.MILK"):
        load_margins_config(path)


def test_unknown_keys_refused(tmp_path: Path) -> None:
    path = tmp_path / "margins.toml"
    path.write_text("default = 0.2\n[exclude]\nbrands = ['X']\n")
    with pytest.raises(ConfigError, match=r"exclude\.brands"):
        load_margins_config(path)


def test_unmatched_keys_listed() -> None:
    assert unmatched_keys(_catalog(), CONFIG) == []
    typo = CONFIG.model_copy(update={"categories": {"MLK": 0.1}})
    assert unmatched_keys(_catalog(), typo) == ["categories.MLK"]


def test_shipped_config_is_valid_and_excludes_the_brief_list() -> None:
    config = load_margins_config(CONFIG_DIR / "margins.toml")
    for dept in (
        "FUEL",
        "COUPON",
        "MISCELLANEOUS",
        "KIOSK-GAS",
        "POSTAL CENTER",
        "CHARITABLE CONT",
        "CNTRL/STORE SUP",
        "PROD-WHS SALES",
    ):
        assert dept in config.exclude.departments
    for category in (
        "CIGARETTES",
        "CIGARS",
        "TOBACCO OTHER",
        "BOTTLE DEPOSITS",
        "COUPON/MISC ITEMS",
        "TICKETS",
    ):
        assert category in config.exclude.categories
