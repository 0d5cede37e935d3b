"""Rules config: the shipped file loads, and every bad value is refused with a message naming the key."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from engine.errors import ConfigError, RulesError
from engine.rules.config import DEFAULT_RULES_PATH, load_rules, parse_rules, rules_version
from tests.strategies import rules_dict


def _set(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(data)
    *parents, last = path.split(".")
    node = out
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    return out


def _drop(data: dict[str, Any], path: str) -> dict[str, Any]:
    out = copy.deepcopy(data)
    *parents, last = path.split(".")
    node = out
    for key in parents:
        node = node[key]
    del node[last]
    return out


def test_shipped_rules_load() -> None:
    rules = load_rules(DEFAULT_RULES_PATH)
    assert set(rules.tiers) == {"bronze", "silver", "gold", "diamond"}
    # gold and diamond: fewer offers of higher value
    assert rules.tiers["diamond"].reward_cost > rules.tiers["bronze"].reward_cost
    assert rules.tiers["diamond"].min_weeks_between_offers > rules.tiers["bronze"].min_weeks_between_offers


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("colour", "blue", r"colour: Extra inputs are not permitted"),
        ("eligibility.recency.durable_wekks", 3, r"eligibility\.recency\.durable_wekks: Extra inputs"),
        ("tiers.gold.stars", "many", r"tiers\.gold\.stars: Input should be a valid integer.*'many'"),
        ("eligibility.min_margin_rate", -0.1, r"eligibility\.min_margin_rate: .*greater than or equal to 0"),
        ("hard_guard.max_reward_share", 1.5, r"hard_guard\.max_reward_share: .*less than or equal to 1"),
        ("tiers.platinum", {"stars": 1, "cash_per_star": 0.1}, r"tiers: .*unknown tier\(s\) \['platinum'\]"),
        ("economic_guard.habitual_lift", {"mode": "absolute"}, r"habitual_lift / stretch_lift .* are gone"),
        ("economic_guard.lift_quantile", 1.0, r"lift_quantile: .*less than 1"),
        ("tiers.gold.min_stars", 80, r"min_stars 80 is above stars 50"),
        (
            "economic_guard.min_expected_profit",
            float("nan"),
            r"min_expected_profit: Input should be a finite",
        ),
        (
            "economic_guard.min_expected_profit",
            float("inf"),
            r"min_expected_profit: Input should be a finite",
        ),
        ("tiers.bronze.cash_per_star", 0.0, r"tiers\.bronze\.cash_per_star: .*greater than 0"),
        (
            "tiers.bronze.min_weeks_between_offers",
            0,
            r"min_weeks_between_offers: .*greater than or equal to 1",
        ),
        ("budget.weekly_expected_cost", -5.0, r"budget\.weekly_expected_cost: .*greater than or equal to 0"),
        ("search.max_habitual", 1, r"search\.max_habitual: .*greater than or equal to 2"),
        ("eligibility.excluded_departments", "FUEL", r"excluded_departments: Input should be a valid tuple"),
        ("eligibility.recency.durable_weeks", -1, r"durable_weeks: .*greater than or equal to 0"),
    ],
)
def test_bad_value_is_refused_naming_the_key(path: str, value: Any, expected: str) -> None:
    with pytest.raises(RulesError, match=expected) as info:
        parse_rules(_set(rules_dict(), path, value), "my_rules.toml")
    assert str(info.value).startswith("my_rules.toml: ")
    assert info.value.exit_code == 2


def test_missing_tier_is_refused() -> None:
    with pytest.raises(RulesError, match=r"tiers: .*missing tier\(s\) \['diamond'\]"):
        parse_rules(_drop(rules_dict(), "tiers.diamond"))


def test_missing_section_is_refused() -> None:
    with pytest.raises(RulesError, match=r"hard_guard: Field required"):
        parse_rules(_drop(rules_dict(), "hard_guard"))


def test_every_problem_is_listed_at_once() -> None:
    data = _set(_set(rules_dict(), "hard_guard.max_reward_share", 2.0), "tiers.gold.stars", -1)
    with pytest.raises(RulesError, match=r"2 problem\(s\)") as info:
        parse_rules(data)
    assert "max_reward_share" in str(info.value)
    assert "tiers.gold.stars" in str(info.value)


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="config file not found"):
        load_rules(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[hard_guard\nmax_reward_share = 0.5\n")
    with pytest.raises(RulesError, match="not valid TOML"):
        load_rules(bad)
    assert issubclass(RulesError, ConfigError)


def test_rules_version_is_a_content_hash(tmp_path: Path) -> None:
    text = DEFAULT_RULES_PATH.read_text()
    moved = tmp_path / "same.toml"
    # comments and blank lines do not change what the rules mean, hence not the version
    moved.write_text("# a comment\n\n" + text)
    assert rules_version(load_rules(moved)) == rules_version(load_rules(DEFAULT_RULES_PATH))
    changed = tmp_path / "changed.toml"
    changed.write_text(text.replace("max_reward_share = 0.5", "max_reward_share = 0.4"))
    assert rules_version(load_rules(changed)) != rules_version(load_rules(DEFAULT_RULES_PATH))
    assert len(rules_version(load_rules(DEFAULT_RULES_PATH))) == 12
