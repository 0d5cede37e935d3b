"""Metrics on hand-made challenges and window purchases where every answer is worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from engine.backtest.metrics import (
    NOT_IN_BATCH,
    entropy_bits,
    gini,
    member_outcomes,
    members_in_scope,
    no_offer_reasons,
    ranking_outcomes,
    summarize,
)
from engine.errors import DataValidationError
from tests.backtest.conftest import make_transactions

CUTOFF = 10


def _challenges() -> pd.DataFrame:
    rows = [
        # member, h1, h2, stretch category, product, reward, profit, status, reason_code, cost, p_complete
        (1, 1, 2, "PRODUCE", 3, 0.5, 0.2, "issued", "issued", 0.1, 0.2),
        (2, 1, 4, "PRODUCE", 3, 0.5, 0.3, "issued", "issued", 0.05, 0.1),
        (3, None, None, None, None, None, None, "no_offer", "economic_guard", 0.0, 0.0),
        (5, 1, 2, "DELI", 5, 0.5, 0.3, "issued", "issued", 0.05, 0.1),  # not in scope
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "member_id",
            "habitual_1",
            "habitual_2",
            "stretch_category",
            "stretch_product",
            "reward_cost",
            "expected_profit",
            "status",
            "reason_code",
            "expected_cost",
            "p_complete",
        ],
    )
    return frame.assign(week=CUTOFF, reason=frame["reason_code"] + " in words")


def _train() -> pd.DataFrame:
    return make_transactions([(m, 1, 100 + m, 5, 2.0) for m in (1, 2, 3, 4, 5)])


def _window() -> pd.DataFrame:
    return make_transactions(
        [
            (1, 1, 1, CUTOFF, 2.0),
            (1, 2, 1, CUTOFF, 3.0),
            (1, 3, 1, CUTOFF, 4.0),  # salad: margin 4.0 * 0.5 = 2.0
            (1, 7, 1, CUTOFF, 2.0),  # apples, same category: margin 2.0 * 0.35 = 0.7
            (2, 1, 2, CUTOFF, 2.0),
            (2, 5, 2, CUTOFF, 10.0),  # sushi: not member 2's stretch category
            (3, 6, 3, CUTOFF, 30.0),
            (4, 2, 4, CUTOFF, 3.0),
        ]
    )


@pytest.fixture
def outcomes(catalog: pd.DataFrame) -> pd.DataFrame:
    scope = members_in_scope(_train(), _window())
    return member_outcomes(_challenges(), _window(), catalog, scope)


def test_scope_is_active_before_and_seen_in_window() -> None:
    assert members_in_scope(_train(), _window()).tolist() == [1, 2, 3, 4]


def test_per_member_outcomes(outcomes: pd.DataFrame) -> None:
    by = outcomes.set_index("member_id")
    assert by.loc[1, "habitual_hit_rate"] == 1.0
    assert by.loc[2, "habitual_hit_rate"] == 0.5
    assert by.loc[1, "stretch_adoption"] == 1.0
    assert by.loc[2, "stretch_adoption"] == 0.0
    assert by.loc[1, "stretch_value"] == pytest.approx(2.7)
    assert by.loc[2, "stretch_value"] == 0.0
    assert by.loc[1, "completion_rate"] == 1.0
    assert by.loc[1, "realised_reward_cost"] == 0.5
    assert by.loc[1, "incremental_profit"] == pytest.approx(0.2 + 0.1 - 0.5)
    assert by.loc[2, "incremental_profit"] == pytest.approx(0.3 + 0.05)
    assert math.isnan(by.loc[3, "habitual_hit_rate"])
    assert by.loc[3, "reason"] == "economic_guard"
    assert by.loc[4, "reason"] == NOT_IN_BATCH
    assert 5 not in by.index


def test_summary_rates(outcomes: pd.DataFrame) -> None:
    s = summarize(outcomes)
    assert s["n_scope"] == 4
    assert s["n_issued"] == 2
    assert s["coverage"] == 0.5
    assert s["habitual_hit_rate"] == pytest.approx(0.75)
    assert s["habitual_both_rate"] == pytest.approx(0.5)
    assert s["stretch_adoption"] == pytest.approx(0.5)
    assert s["stretch_value"] == pytest.approx(2.7 / 2)
    assert s["stretch_product_hit"] == pytest.approx(0.5)
    assert s["completion_rate"] == pytest.approx(0.5)
    assert s["expected_cost_total"] == pytest.approx(0.15)
    assert s["realised_reward_cost_total"] == pytest.approx(0.5)
    assert s["stretch_distinct"] == 1
    assert s["stretch_gini"] == 0.0
    assert s["stretch_entropy_bits"] == 0.0


def test_no_offer_reasons(outcomes: pd.DataFrame) -> None:
    assert no_offer_reasons(outcomes) == {"economic_guard": 1, NOT_IN_BATCH: 1}


def test_missing_columns_are_named(catalog: pd.DataFrame) -> None:
    with pytest.raises(DataValidationError, match="stretch_category"):
        member_outcomes(_challenges().drop(columns="stretch_category"), _window(), catalog, pd.Index([1]))


def test_gini_and_entropy() -> None:
    assert gini(np.array([1, 1, 1, 1])) == pytest.approx(0.0)
    assert gini(np.array([0, 0, 0, 4])) == pytest.approx(0.75)
    assert entropy_bits(np.array([1, 1, 1, 1])) == pytest.approx(2.0)
    assert math.isnan(gini(np.array([])))


def test_nobody_issued_gives_nan_rates(catalog: pd.DataFrame) -> None:
    frame = _challenges().assign(status="no_offer", reason_code="budget")
    out = member_outcomes(frame, _window(), catalog, members_in_scope(_train(), _window()))
    s = summarize(out)
    assert s["coverage"] == 0.0
    assert math.isnan(s["habitual_hit_rate"])
    assert no_offer_reasons(out) == {"budget": 3, NOT_IN_BATCH: 1}


def _stretch() -> pd.DataFrame:
    rows = [
        # member, category, rank: rows deliberately not in rank order
        (1, "DAIRY", 2),  # bought in the window, but only rank 2
        (1, "PRODUCE", 1),  # bought in the window
        (2, "DELI", 2),  # bought in the window, but only rank 2
        (2, "BAKERY", 1),  # not bought in the window
        (9, "DAIRY", 1),  # not in scope
    ]
    frame = pd.DataFrame(rows, columns=["member_id", "category", "rank"])
    return frame.assign(score=0.1, suggested_item_id=1, expected_margin=0.05)


def _ranking(stretch: pd.DataFrame, catalog: pd.DataFrame) -> dict[str, float]:
    return ranking_outcomes(stretch, _window(), catalog, members_in_scope(_train(), _window()))


def test_top1_adoption_reads_each_members_rank_1_category(catalog: pd.DataFrame) -> None:
    # members 3 and 4 are in scope without a candidate; member 9 has one but is out of scope
    out = _ranking(_stretch(), catalog)
    assert out["stretch_top1_members"] == 2
    assert out["stretch_top1_adoption"] == pytest.approx(0.5)


def test_top1_adoption_would_differ_on_rank_2(catalog: pd.DataFrame) -> None:
    # with rank 1 gone, both members' best candidate is one they bought: the metric must see that
    stretch = _stretch()
    out = _ranking(stretch[stretch["rank"] == 2], catalog)
    assert out["stretch_top1_members"] == 2
    assert out["stretch_top1_adoption"] == pytest.approx(1.0)


def test_top1_adoption_without_candidates_is_nan(catalog: pd.DataFrame) -> None:
    out = _ranking(_stretch()[lambda f: f["member_id"] == 9], catalog)
    assert out["stretch_top1_members"] == 0
    assert math.isnan(out["stretch_top1_adoption"])


def test_top1_adoption_names_missing_columns(catalog: pd.DataFrame) -> None:
    with pytest.raises(DataValidationError, match="rank"):
        _ranking(_stretch().drop(columns="rank"), catalog)
