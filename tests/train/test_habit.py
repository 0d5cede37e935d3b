"""The habit value of a category: adopters, their repeat margin over the horizon, shrinkage."""

from __future__ import annotations

import pandas as pd
import pytest

from engine.train.habit import HabitParams, category_habits

# categories A and C in department D1, B and E in D2; cost 0, so a line's margin is its sales value
PRICED = pd.DataFrame(
    {
        "item_id": [1, 2, 3, 4],
        "category": ["A", "B", "C", "E"],
        "department": ["D1", "D2", "D1", "D2"],
        "unit_cost": [0.0, 0.0, 0.0, 0.0],
    }
)
A, B, C, E = 1, 2, 3, 4
# cutoff 30, horizon 4, window 10: adoptions are first purchases in weeks 16-25
CUTOFF = 30
PARAMS = HabitParams(horizon_weeks=4, adoption_window_weeks=10, min_history_weeks=2, prior_adopters=0)
LINES = [
    # member 1 adopts A in week 20 (a second line that week is not a repeat), repeats in 22 (2.0);
    # week 25 is past the 4-week horizon
    (1, B, 1, 1.0),
    (1, A, 20, 9.0),
    (1, A, 20, 9.0),
    (1, A, 22, 2.0),
    (1, A, 25, 3.0),
    # member 2 adopts A in week 18 and never comes back
    (2, B, 10, 1.0),
    (2, A, 18, 5.0),
    # member 3's first purchase ever is A: no history without it, not an adoption
    (3, A, 17, 5.0),
    (3, A, 18, 5.0),
    # member 4 adopts too late (week 27: its horizon is not over), member 5 too early (week 5)
    (4, B, 1, 1.0),
    (4, A, 27, 5.0),
    (5, B, 1, 1.0),
    (5, A, 5, 5.0),
    (5, A, 6, 5.0),
    # member 6 adopts E in week 19 and repeats in 20 (4.0); member 7 adopts C in 21, no repeat
    (6, B, 1, 1.0),
    (6, E, 19, 1.0),
    (6, E, 20, 4.0),
    (7, B, 1, 1.0),
    (7, C, 21, 1.0),
]


def _tx() -> pd.DataFrame:
    tx = pd.DataFrame(LINES, columns=["member_id", "item_id", "week", "sales_value"])
    return tx.assign(quantity=1.0)


def test_adopters_repeat_margin_and_share() -> None:
    out = category_habits(_tx(), PRICED, CUTOFF, PARAMS).set_index("category")
    assert out["adopters"].to_dict() == {"A": 2, "B": 0, "C": 1, "E": 1}
    assert out.loc["A", "repeat_margin"] == pytest.approx(1.0)  # (2.0 + 0) / 2 adopters
    assert out.loc["A", "repeat_share"] == pytest.approx(0.5)
    assert out.loc["C", "repeat_margin"] == 0.0
    assert out.loc["E", "repeat_margin"] == pytest.approx(4.0)
    # B has no adopters: its department's (D2: member 6's 4.0, bought again)
    assert out.loc["B", "repeat_margin"] == pytest.approx(4.0)
    assert out.loc["B", "repeat_share"] == pytest.approx(1.0)


def test_few_adopters_shrink_towards_the_department() -> None:
    params = PARAMS.model_copy(update={"prior_adopters": 2.0})
    out = category_habits(_tx(), PRICED, CUTOFF, params).set_index("category")
    department = 2.0 / 3.0  # D1 adopters: 2.0, 0 (A) and 0 (C)
    assert out.loc["A", "repeat_margin"] == pytest.approx((2 * 1.0 + 2 * department) / 4)
    assert out.loc["C", "repeat_margin"] == pytest.approx((1 * 0.0 + 2 * department) / 3)


def test_no_adopters_at_all_claims_no_habit_value() -> None:
    early = _tx()[_tx()["week"] < 8]
    out = category_habits(early, PRICED, CUTOFF, PARAMS)
    assert (out["repeat_margin"] == 0).all()
    assert (out["repeat_share"] == 0).all()


def test_lines_at_or_after_the_cutoff_are_refused() -> None:
    with pytest.raises(ValueError, match="at or after the cutoff week 25"):
        category_habits(_tx(), PRICED, 25, PARAMS)


def test_adopter_spend_counts_the_adoption_week_and_the_horizon() -> None:
    import numpy as np

    from engine.train.categories import category_stats
    from engine.train.config import FeatureParams
    from engine.train.history import History

    tx = _tx().assign(basket_id=lambda f: f["member_id"] * 1000 + f["week"])
    catalog = PRICED.assign(price=1.0, margin_rate=0.3, excluded=False)
    history = History.build(tx, catalog)
    spend = category_stats(history, CUTOFF, FeatureParams(), PARAMS).adopter_spend
    by_category = dict(zip(history.categories.ids, spend, strict=True))
    # A: member 1 spends 9 + 9 + 2 in weeks 20-24 (week 25 is past the horizon), member 2 spends 5;
    # members 3 (no history before), 4 (too late) and 5 (too early) are not adopters
    assert by_category["A"] == pytest.approx((20.0 + 5.0) / 2)
    assert by_category["E"] == pytest.approx(5.0)
    assert by_category["C"] == pytest.approx(1.0)
    # B has no adopter: its department's (E's) value
    assert by_category["B"] == pytest.approx(5.0)
    # shrinkage: 2 pseudo-adopters at D1's mean over its 3 adopters ((20 + 5 + 1) / 3)
    shrunk = category_stats(
        history, CUTOFF, FeatureParams(), PARAMS.model_copy(update={"prior_adopters": 2.0})
    ).adopter_spend
    d1 = 26.0 / 3
    assert dict(zip(history.categories.ids, shrunk, strict=True))["A"] == pytest.approx((25.0 + 2 * d1) / 4)
    assert np.isfinite(shrunk).all()
