"""Member groups, offer economics and fairness on a hand-made challenges file."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest

from engine.errors import DataValidationError
from engine.reports import GROUPINGS, ReportsConfig, member_groups, run_report
from engine.reports.fairness import flag_gaps, group_values
from tests.reports.conftest import Line, catalog, report_data

ITEMS = catalog([(1, "MILK", "DAIRY", 0.3), (2, "BREAD", "BAKERY", 0.3), (3, "SALAD", "PRODUCE", 0.3)])
WEEK = 10


def _history(members: Sequence[int]) -> list[Line]:
    """Each member buys items 1 and 2 in weeks 1-9; member 1 spends most (tier), member 4 stops at week 1."""
    lines: list[Line] = []
    basket = 0
    for m in members:
        for week in range(1, 2 if m == 4 else WEEK):
            basket += 1
            lines += [(m, 1, basket, week, 30.0 if m == 1 else 2.0), (m, 2, basket, week, 1.0)]
    return lines


def challenges(rows: Sequence[tuple[int, str, str, float]]) -> pd.DataFrame:
    """``(member, status, reason_code, reward_cost)`` rows as an ``offers challenges`` file.

    Issued challenges pick items 1 and 2 and the category SALAD."""
    issued = [s == "issued" for _, s, _, _ in rows]
    return pd.DataFrame(
        {
            "member_id": pd.array([m for m, *_ in rows], dtype="Int64"),
            "week": WEEK,
            "habitual_1": pd.array([1 if i else None for i in issued], dtype="Int64"),
            "habitual_2": pd.array([2 if i else None for i in issued], dtype="Int64"),
            "stretch_category": pd.array(["SALAD" if i else None for i in issued], dtype="string"),
            "stretch_product": pd.array([3 if i else None for i in issued], dtype="Int64"),
            "reward_cost": [c for *_, c in rows],
            "expected_profit": [0.5 if i else 0.0 for i in issued],
            "status": [s for _, s, _, _ in rows],
            "reason": [r for _, _, r, _ in rows],
            "reason_code": [r for _, _, r, _ in rows],
            "tier": "bronze",
            "reward_stars": [25 if i else 0 for i in issued],
            "expected_cost": [c * 0.5 for *_, c in rows],
            "p_complete": [0.5 if i else 0.0 for i in issued],
        }
    )


def test_member_groups_tier_activity_and_unknown_demographics(config: ReportsConfig) -> None:
    demographics = pd.DataFrame({"member_id": [1, 2], "age": ["25-34", "65+"], "income": ["Under 15K", " "]})
    data = report_data(_history([1, 2, 3, 4]), ITEMS, members=[1, 2, 3, 4, 5], demographics=demographics)
    groups = member_groups(data, WEEK, config.groups).set_index("member_id")
    assert list(groups.columns) == list(GROUPINGS)
    assert groups.loc[1, "tier"] == "gold"  # 9 weeks x 31 = 279 >= 200 (hand-made thresholds)
    assert groups.loc[2, "tier"] == "bronze"
    assert groups["activity"].to_dict() == {
        1: "active",
        2: "active",
        3: "active",
        4: "lapsed",  # last purchase in week 1, more than 8 weeks before week 10
        5: "no_purchases",
    }
    assert groups.loc[1, "age"] == "25-34"
    assert groups.loc[2, "income"] == "unknown"  # a blank answer is no answer
    assert (groups.loc[[3, 4, 5], "age"] == "unknown").all()
    assert (groups["household_size"] == "unknown").all()  # not in this demographics file
    # the ladder (engine.loyalty): member 5 is in the member file with no purchase and no profile
    assert groups.loc[5, "stage"] == "suspect"
    assert set(groups["stage"]) <= {"suspect", "prospect", "first_time", "repeat", "loyal", "advocate"}
    assert groups.loc[[1, 2, 3, 4], "stage"].ne("suspect").all()


def test_offer_economics_totals_and_reasons(config: ReportsConfig) -> None:
    frame = challenges(
        [(1, "issued", "issued", 2.0), (2, "issued", "issued", 1.0), (3, "no_offer", "budget", 0.0),
         (4, "no_offer", "budget", 0.0), (5, "no_offer", "opted_out", 0.0)]
    )  # fmt: skip
    # week 10: member 1 buys milk, bread and a salad (completes), member 2 only milk
    window = [(1, 1, 900, WEEK, 1.0), (1, 2, 900, WEEK, 1.0), (1, 3, 900, WEEK, 1.0), (2, 1, 901, WEEK, 1.0)]
    data = report_data(_history([1, 2, 3, 4]) + window, ITEMS, members=[5], challenges=frame)
    report = run_report("offer-economics", data, config)
    n = report.numbers
    assert (n["members"], n["issued"], n["withheld"]) == (5, 2, 3)
    assert n["expected_reward_cost"] == pytest.approx(1.5)  # 2.0 x 0.5 + 1.0 x 0.5
    assert n["expected_profit"] == pytest.approx(1.0)
    assert n["completion_rate"] == pytest.approx(0.5)
    assert n["realised_reward_cost"] == pytest.approx(2.0)  # member 1's reward
    reasons = report.tables["withheld_by_reason"].set_index("reason_code")
    assert reasons["members"].to_dict() == {"budget": 2, "opted_out": 1}
    by = report.tables["by_group"].set_index(["grouping", "group"])
    assert by.loc[("tier", "gold"), "issued"] == 1
    assert by.loc[("activity", "lapsed"), "withheld"] == 1
    assert by.loc[("activity", "active"), "mean_reward_value"] == pytest.approx(1.5)


def test_fairness_flags_a_constructed_gap(config: ReportsConfig) -> None:
    # 200 members with age "A" all issued; 200 with "B" of whom 100 issued: offers 1.0 vs 0.5, overall 0.75
    members = list(range(1, 401))
    frame = challenges(
        [(m, "issued", "issued", 1.0) if m <= 300 else (m, "no_offer", "budget", 0.0) for m in members]
    )
    demographics = pd.DataFrame({"member_id": members, "age": ["A"] * 200 + ["B"] * 200})
    data = report_data(_history(members), ITEMS, demographics=demographics, challenges=frame)
    report = run_report("fairness", data, config)
    table = report.tables["by_group"].set_index(["grouping", "group", "metric"])
    b_offers = table.loc[("age", "B", "offers")]
    assert b_offers["value"] == pytest.approx(0.5)
    assert b_offers["overall"] == pytest.approx(0.75)
    assert b_offers["ratio"] == pytest.approx(0.5 / 0.75)
    # the standard error of a group of 200 drawn from everyone: sd of 300 ones and 100 zeros / sqrt(200)
    assert b_offers["se"] == pytest.approx(np.std([1.0] * 300 + [0.0] * 100, ddof=1) / np.sqrt(200))
    assert bool(b_offers["flagged"])  # 0.5 + 1.96 x 0.031 = 0.56 < 0.75 / 1.25 = 0.6
    assert not bool(table.loc[("age", "A", "offers"), "flagged"])  # served above the overall value
    assert bool(table.loc[("age", "B", "reward_value"), "flagged"])
    assert not bool(table.loc[("age", "B", "completion"), "flagged"])  # nobody completes: overall 0
    flagged = set(zip(report.tables["flags"]["grouping"], report.tables["flags"]["metric"], strict=True))
    assert flagged == {("age", "offers"), ("age", "reward_value"), ("age", "expected_reward_value")}
    summary = report.tables["summary"].set_index(["grouping", "group"])
    assert summary.loc[("age", "B"), "flagged"] == "offers, reward_value, expected_reward_value"
    assert summary.loc[("age", "A"), "offers"] == pytest.approx(1.0)


def test_fairness_ratio_noise_small_groups_and_by_design(config: ReportsConfig) -> None:
    values = pd.DataFrame(
        {
            "grouping": ["income"] * 4 + ["tier"],
            "group": ["low", "noisy", "tiny", "high", "gold"],
            "metric": "offers",
            "n": [100, 100, 5, 100, 100],
            "value": [0.81, 0.5, 0.0, 1.0, 0.5],
            "se": [0.01, 0.2, 0.0, 0.0, 0.01],
            "overall": 1.0,
        }
    )
    params = config.fairness.model_copy(
        update={"max_ratio": 1.25, "confidence": 0.95, "min_group_members": 30, "by_design": ("tier.offers",)}
    )
    out = flag_gaps(values, params).set_index("group")
    assert not out.loc["low", "flagged"]  # 0.81 >= 1 / 1.25 = 0.8
    assert not out.loc["noisy", "flagged"]  # 0.5 + 1.96 x 0.2 = 0.89: could be chance
    assert not out.loc["tiny", "flagged"]  # 5 members: shown, never flagged
    assert not out.loc["gold", "flagged"]
    assert out.loc["gold", "by_design"]
    stricter = flag_gaps(values, params.model_copy(update={"max_ratio": 1.2})).set_index("group")
    assert stricter.loc["low", "flagged"]  # 0.81 + 1.96 x 0.01 = 0.83 < 1 / 1.2 = 0.833
    looser = flag_gaps(values, params.model_copy(update={"confidence": 0.5})).set_index("group")
    assert looser.loc["noisy", "flagged"]  # 0.5 + 0.674 x 0.2 = 0.63 < 0.8


def test_group_values_completion_is_over_issued_members_only() -> None:
    rows = pd.DataFrame(
        {
            "member_id": [1, 2, 3],
            "age": ["A", "A", "A"],
            "issued": [True, True, False],
            "reward_value": [1.0, 1.0, 0.0],
            "expected_reward_value": [0.5, 0.5, 0.0],
            "completed": [1.0, 0.0, float("nan")],
            "realised_reward_value": [1.0, 0.0, 0.0],
        }
    )
    got = group_values(rows, "age", "unknown").set_index("metric")
    assert got.loc["offers", "se"] == pytest.approx(np.std([1.0, 1.0, 0.0], ddof=1) / np.sqrt(3))
    assert got.loc["offers", "value"] == pytest.approx(2 / 3)
    assert got.loc["completion", "value"] == pytest.approx(1 / 2)
    assert got.loc["completion", "n"] == 2
    assert got.loc["realised_reward_value", "value"] == pytest.approx(1 / 3)


def test_offer_reports_need_a_challenges_file(config: ReportsConfig) -> None:
    data = report_data(_history([1]), ITEMS)
    with pytest.raises(DataValidationError, match="offers challenges --as-of WEEK"):
        run_report("fairness", data, config)


def test_segment_grouping_is_each_members_smallest_segment() -> None:
    from engine.reports.groups import _most_specific

    segments = pd.Series(
        ["reached,vip", "reached", "reached,vip,lapsing", None, "lapsing,vip"], index=[1, 2, 3, 4, 5]
    )
    got = _most_specific(segments)
    # sizes: reached 3, vip 3, lapsing 2; ties go to the earlier segment in the member's (file-order) list
    assert got.drop(4).to_dict() == {1: "reached", 2: "reached", 3: "lapsing", 5: "lapsing"}
    assert pd.isna(got[4])
