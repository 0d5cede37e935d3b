"""Member-facing outcomes, issuance and the raw comparison on hand-made purchases, answers by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.backtest.member_facing import (
    active_members,
    issuance,
    issuance_text,
    measure_cutoff,
    pick_outcomes,
)
from engine.errors import DataValidationError
from tests.backtest.conftest import make_transactions

CUTOFF = 10
AFTER = 2  # horizon: weeks 10, 11, 12

# Catalog (conftest): 1 milk DAIRY, 2 bread BAKERY, 3 salad PRODUCE, 4 cheese DAIRY, 5 sushi DELI,
# 6 fuel FUEL, 7 apple PRODUCE, 8 cake BAKERY.


def _picks() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "member_id": [1, 2, 3, 4],
            "habitual_1": pd.array([1, 1, 1, 2], dtype="Int64"),
            "habitual_2": pd.array([2, 4, None, 4], dtype="Int64"),
            "stretch_category": pd.array(["PRODUCE", "DELI", "BAKERY", None], dtype="string"),
        }
    )


def _transactions() -> pd.DataFrame:
    return make_transactions(
        [
            # member 1 buys milk, bread and an apple (not the suggested salad: the category counts) in
            # the challenge week, salad in week 11 and an apple in week 12; salad in week 13 is past
            # the horizon
            (1, 1, 11, 10, 2.0),
            (1, 2, 11, 10, 3.0),
            (1, 7, 11, 10, 1.0),
            (1, 3, 12, 11, 4.0),
            (1, 7, 13, 12, 1.0),
            (1, 3, 14, 13, 4.0),
            # member 2: sushi in week 9 (before the challenge week) and week 11; milk in week 10
            (2, 5, 20, 9, 10.0),
            (2, 1, 21, 10, 2.0),
            (2, 5, 22, 11, 10.0),
            # member 3: cake in the challenge week, no bakery after
            (3, 8, 31, 10, 6.0),
            (3, 1, 32, 12, 2.0),
            # member 9 has no challenge
            (9, 1, 91, 10, 2.0),
        ]
    )


def test_outcomes_per_member(catalog: pd.DataFrame) -> None:
    out = pick_outcomes(_picks(), _transactions(), catalog, CUTOFF, weeks_after=AFTER, last_week=13)
    out = out.set_index("member_id")
    assert out.loc[[1, 2, 4], "habitual_hit_rate"].tolist() == [1.0, 0.5, 0.0]
    assert np.isnan(out.loc[3, "habitual_hit_rate"])  # one habitual pick only: not measured
    assert out.loc[[1, 2, 3], "stretch_adoption"].tolist() == [1.0, 0.0, 1.0]
    assert np.isnan(out.loc[4, "stretch_adoption"])
    assert out.loc[[1, 2], "completion_rate"].tolist() == [1.0, 0.0]
    assert out.loc[[3, 4], "completion_rate"].isna().all()
    # spend in the category over weeks 10..12: member 1 apple 1 + salad 4 + apple 1; member 2 sushi in
    # week 11 only (week 9 is before); member 3 cake 6
    assert out.loc[[1, 2, 3], "category_spend"].tolist() == [6.0, 10.0, 6.0]
    # repeat: adopters only
    assert out.loc[1, "repeat_purchase"] == 1.0
    assert out.loc[3, "repeat_purchase"] == 0.0
    assert out.loc[[2, 4], "repeat_purchase"].isna().all()
    # member 4 bought nothing in week 10: counted (a miss), and flagged for the informational table
    assert out["shopped"].tolist() == [True, True, True, False]


def test_horizon_past_the_data_is_not_measured(catalog: pd.DataFrame) -> None:
    # weeks 10..12 need week 12 in the data; with 11 the last, spend and repeat are NaN, the rest stays
    out = pick_outcomes(_picks(), _transactions(), catalog, CUTOFF, weeks_after=AFTER, last_week=11)
    assert out["category_spend"].isna().all()
    assert out["repeat_purchase"].isna().all()
    assert out["stretch_adoption"].notna().sum() == 3


def test_missing_pick_columns_are_named(catalog: pd.DataFrame) -> None:
    with pytest.raises(DataValidationError, match="stretch_category"):
        pick_outcomes(
            _picks().drop(columns="stretch_category"),
            _transactions(),
            catalog,
            CUTOFF,
            weeks_after=1,
            last_week=13,
        )


def _challenges() -> pd.DataFrame:
    frame = _picks().assign(
        status=["issued", "issued", "no_offer", "issued"],
        tier=["gold", "diamond", "gold", "bronze"],
        expected_profit=[0.5, 0.25, 0.0, 0.125],
    )
    extra = pd.DataFrame(
        {
            "member_id": [5],
            "habitual_1": pd.array([None], dtype="Int64"),
            "status": ["no_offer"],
            "tier": ["silver"],
        }
    )
    return pd.concat([frame, extra], ignore_index=True)


def test_issuance_per_tier_and_among_active_members() -> None:
    train = make_transactions(
        [
            (1, 1, 1, 9, 2.0),  # active (weeks 2..9)
            (2, 1, 2, 1, 2.0),  # last purchase in week 1: not active
            (3, 1, 3, 5, 2.0),  # active, not issued
            (5, 1, 5, 2, 2.0),  # active, not issued
            (7, 1, 7, 3, 2.0),  # active, not in the batch at all
        ]
    )
    active = active_members(train, CUTOFF, 8)
    assert sorted(active) == [1, 3, 5, 7]
    got = issuance(_challenges(), active, ("bronze", "silver", "gold", "diamond"))
    assert got == {
        "members_bronze": 1,
        "issued_bronze": 1,
        "members_silver": 1,
        "issued_silver": 0,
        "members_gold": 2,
        "issued_gold": 1,
        "members_diamond": 1,
        "issued_diamond": 1,
        "active": 4,  # members 1, 3, 5, 7
        "active_issued": 1,  # member 1
    }


def test_measure_cutoff_pairs_the_same_members(catalog: pd.DataFrame) -> None:
    raw = pd.DataFrame(
        {
            "member_id": [1, 2, 3, 4, 8],
            "habitual_1": pd.array([1, 1, 1, 2, 1], dtype="Int64"),
            "habitual_2": pd.array([4, 5, 2, 1, 2], dtype="Int64"),
            "stretch_category": pd.array(["DELI", "PRODUCE", "DELI", "DELI", "DELI"], dtype="string"),
        }
    )
    out = measure_cutoff(
        _challenges(), raw, _transactions(), catalog, CUTOFF, weeks_after=AFTER, last_week=13
    )
    model = out[out["source"] == "model"].set_index("member_id")
    base = out[out["source"] == "raw"].set_index("member_id")
    # the model's issued members only (3 and 5 got no offer); raw rows for the same members
    assert sorted(model.index) == [1, 2, 4]
    assert sorted(base.index) == [1, 2, 4]
    assert model["expected_profit"].to_dict() == {1: 0.5, 2: 0.25, 4: 0.125}
    assert model["tier"].to_dict() == {1: "gold", 2: "diamond", 4: "bronze"}
    assert base["expected_profit"].isna().all()
    # raw for member 1: milk yes, cheese no; deli not adopted. Member 2: milk yes, sushi no; no produce
    assert base.loc[1, "habitual_hit_rate"] == 0.5
    assert base.loc[2, "habitual_hit_rate"] == 0.5
    assert base.loc[[1, 2, 4], "stretch_adoption"].tolist() == [0.0, 0.0, 0.0]
    assert base.loc[2, "category_spend"] == 0.0
    assert (out["cutoff"] == CUTOFF).all()


def test_issuance_text_for_the_terminal() -> None:
    counts = {
        "members_bronze": 4,
        "issued_bronze": 3,
        "members_gold": 2,
        "issued_gold": 1,
        "members_diamond": 0,
        "issued_diamond": 0,
        "active": 5,
        "active_issued": 4,
    }
    text = issuance_text(counts, ["bronze", "gold", "diamond"], ["gold", "diamond"], 8)
    assert text == (
        "issued by tier: bronze 75.0% (3/4), gold 50.0% (1/2), diamond n/a (0 members); "
        "gold and diamond 50.0% (1/2); members active in the last 8 weeks 80.0% (4/5)"
    )
