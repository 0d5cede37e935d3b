"""Model-vs-raw comparisons, issued shares and the member-facing bars on hand-made rows."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from engine.backtest.config import Bars, StatsParams
from engine.backtest.member_analysis import (
    compare_raw,
    mean_estimate,
    member_bars,
    per_cutoff_ratios,
    tier_shares,
    weekly_expected_profit,
)

STATS = StatsParams(bootstrap_resamples=500, seed=3)


def _rows(values: dict[tuple[str, int, int], float], metric: str) -> pd.DataFrame:
    """Rows (source, cutoff, member) -> metric value, with expected_profit for model rows."""
    rows = [
        {
            "source": s,
            "cutoff": c,
            "member_id": m,
            metric: v,
            "expected_profit": 1.0 if s == "model" else math.nan,
        }
        for (s, c, m), v in values.items()
    ]
    return pd.DataFrame(rows)


def test_paired_comparison_uses_member_weeks_both_have() -> None:
    frame = _rows(
        {
            ("model", 30, 1): 1.0,
            ("raw", 30, 1): 0.5,
            ("model", 30, 2): 0.5,
            ("raw", 30, 2): 0.5,
            ("model", 34, 1): 0.0,
            ("raw", 34, 1): math.nan,  # not measured for raw: dropped
            ("model", 34, 3): 1.0,  # no raw row: dropped
        },
        "habitual_hit_rate",
    )
    pair = compare_raw(frame, "habitual_hit_rate", STATS)
    assert (pair.n_pairs, pair.n_members) == (2, 2)
    assert pair.model_mean == 0.75
    assert pair.raw_mean == 0.5
    assert pair.ratio == 1.5
    assert pair.diff == 0.25
    assert pair.ci_low <= pair.diff <= pair.ci_high


def test_ratios_per_cutoff() -> None:
    frame = _rows(
        {
            ("model", 30, 1): 1.0,
            ("raw", 30, 1): 0.5,
            ("model", 30, 2): 0.5,
            ("raw", 30, 2): 0.5,
            ("model", 34, 1): 0.25,
            ("raw", 34, 1): 0.5,
            ("model", 38, 1): 0.25,
            ("raw", 38, 1): math.nan,
        },
        "stretch_adoption",
    )
    ratios = per_cutoff_ratios(frame, ["stretch_adoption"])
    assert ratios.loc[30, "stretch_adoption"] == 1.5  # 0.75 / 0.5
    assert ratios.loc[34, "stretch_adoption"] == 0.5
    assert np.isnan(ratios.loc[38, "stretch_adoption"])  # no pair


def test_constant_difference_has_a_point_interval() -> None:
    frame = _rows(
        {(s, 30, m): (0.3 if s == "model" else 0.1) for s in ("model", "raw") for m in range(20)}, "x"
    )
    pair = compare_raw(frame, "x", STATS)
    assert pair.ci_low == pytest.approx(0.2)
    assert pair.ci_high == pytest.approx(0.2)


def test_ratio_of_zero_raw_and_of_nothing() -> None:
    frame = _rows({("model", 30, 1): 1.0, ("raw", 30, 1): 0.0}, "x")
    assert compare_raw(frame, "x", STATS).ratio == math.inf
    empty = compare_raw(frame.iloc[:0], "x", STATS)
    assert empty.n_pairs == 0
    assert math.isnan(empty.ratio)


def test_mean_estimate_and_weekly_profit() -> None:
    frame = _rows(
        {("model", 30, 1): 1.0, ("model", 30, 2): 0.0, ("model", 34, 1): math.nan, ("raw", 30, 1): 0.0},
        "repeat_purchase",
    )
    repeat = mean_estimate(frame, "model", "repeat_purchase", STATS)
    assert (repeat.n, repeat.value) == (2, 0.5)
    # three issued challenges of profit 1.0 over two cutoffs: 1.5 per week; every draw gives 1.0 a
    # challenge, so the interval is 1.0 x 1.5 challenges a week
    profit = weekly_expected_profit(frame, STATS)
    assert (profit.n, profit.value) == (3, 1.5)
    assert (profit.ci_low, profit.ci_high) == (pytest.approx(1.5), pytest.approx(1.5))


def _issuance() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "cutoff": 30,
                "members_bronze": 10,
                "issued_bronze": 9,
                "members_gold": 4,
                "issued_gold": 4,
                "members_diamond": 6,
                "issued_diamond": 5,
                "active": 20,
                "active_issued": 18,
            },
            {
                "cutoff": 34,
                "members_bronze": 10,
                "issued_bronze": 10,
                "members_gold": 4,
                "issued_gold": 3,
                "members_diamond": 0,
                "issued_diamond": 0,
                "active": 20,
                "active_issued": 16,
            },
        ]
    )


def test_tier_shares() -> None:
    shares = tier_shares(_issuance(), ["gold", "diamond"])
    assert shares.loc[30, "rich"] == 0.9  # (4 + 5) / (4 + 6)
    assert shares.loc[34, "rich"] == 0.75
    assert np.isnan(shares.loc[34, "diamond"])  # no diamond members that week
    assert shares["active"].tolist() == [0.9, 0.8]
    assert shares.loc[30, "bronze"] == 0.9


def _pairs(model: float, raw: float) -> list:
    frame = _rows({("model", 30, 1): model, ("raw", 30, 1): raw}, "x")
    return [
        compare_raw(frame.rename(columns={"x": m}), m, STATS)
        for m in ("habitual_hit_rate", "stretch_adoption", "completion_rate", "category_spend")
    ]


def test_bars_judge_ratios_the_worst_cutoff_and_violations() -> None:
    shares = tier_shares(_issuance(), ["gold", "diamond"])
    none = pd.DataFrame(columns=["member_id", "week", "rule", "detail"])
    bars = {b.name: b for b in member_bars(_pairs(0.2, 0.16), shares, none, Bars(), ["gold", "diamond"], 8)}
    # ratio 1.25: passes 1.0 and 1.1, fails 1.3 (spend)
    assert bars["habitual_hit_rate vs raw two most-bought products"].passed is True
    assert bars["stretch_adoption vs raw most popular never-bought category"].passed is True
    assert bars["category_spend vs raw most popular never-bought category"].passed is False
    assert bars["completion_rate vs raw baseline challenge"].passed is True
    # gold and diamond: 90% in week 30 but 75% in week 34 -> the worst week fails
    rich = bars["gold and diamond members issued"]
    assert rich.passed is False
    assert "worst 75.0% (cutoff 34)" in rich.measured
    # active: 90% and 80% -> fails 85%
    assert bars["members active in the last 8 weeks issued"].passed is False
    assert bars["guard violations"].passed is True

    one = pd.DataFrame([{"member_id": 1, "week": 30, "rule": "hard_guard", "detail": "too rich"}])
    bars = {b.name: b for b in member_bars(_pairs(0.2, 0.16), shares, one, Bars(), ["gold", "diamond"], 8)}
    assert bars["guard violations"].passed is False
    assert "hard_guard 1" in bars["guard violations"].measured


def test_bars_pass_when_every_week_meets_them() -> None:
    issuance = _issuance()
    issuance.loc[1, ["issued_gold", "active_issued"]] = [4, 18]
    shares = tier_shares(issuance, ["gold", "diamond"])
    none = pd.DataFrame(columns=["member_id", "week", "rule", "detail"])
    bars = {b.name: b for b in member_bars(_pairs(0.3, 0.2), shares, none, Bars(), ["gold", "diamond"], 8)}
    assert all(b.passed for b in bars.values()), bars
