"""Margin guards, lifts and the budget as pure functions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.rules.budget import ShadowPrice, allocate_budget, tie_key
from engine.rules.config import EconomicGuard, HardGuard, TierPolicy
from engine.rules.guards import (
    check_economic_guard,
    check_hard_guard,
    evaluate_combos,
    fitting_stars,
)
from engine.rules.lift import LiftFile, logit_shift, logit_shift_array
from tests.strategies import lifts_dict

HARD = HardGuard(max_reward_share=0.5)
ECON = EconomicGuard(min_expected_profit=0.0, lifts=LiftFile.model_validate(lifts_dict(0.2, 0.5)))


def _tier(cost: float, floor: int | None = None, reach: float = 0.0) -> TierPolicy:
    """A tier whose full reward is 100 stars costing ``cost``."""
    return TierPolicy(stars=100, cash_per_star=cost / 100, min_stars=floor, min_p_complete=reach)


def test_coke_alone_cannot_pay_for_ten_percent_off_a_sandwich() -> None:
    # a 1.00 Coke at 15% margin brings 0.15; 10% off a 6.00 sandwich costs 0.60
    result = check_hard_guard([0.15], 0.60, HardGuard(max_reward_share=1.0))
    assert not result.passed
    assert "more than the whole margin" in result.detail
    assert "reward 0.60 exceeds 100%" in result.detail


def test_hard_guard_passes_at_the_cap_and_fires_above() -> None:
    assert check_hard_guard([1.0, 1.0, 2.0], 2.0, HARD).passed
    assert not check_hard_guard([1.0, 1.0, 2.0], 2.01, HARD).passed


@pytest.mark.parametrize(
    ("margins", "p_base", "why"),
    [
        ([1.0, math.nan, 1.0], [0.5, 0.5, 0.1], "pick 2 has no known margin"),
        ([1.0, 1.0, 1.0], [0.5, math.nan, 0.1], "pick 2 has no valid purchase probability"),
        ([1.0, 1.0, 1.0], [0.5, 1.5, 0.1], "pick 2 has no valid purchase probability"),
        ([1.0, 1.0, math.inf], [0.5, 0.5, 0.1], "pick 3 has no known margin"),
    ],
)
def test_guards_refuse_what_they_cannot_evaluate(margins: list[float], p_base: list[float], why: str) -> None:
    p_offer = [min(p + 0.05, 1.0) if math.isfinite(p) else p for p in p_base]
    econ = check_economic_guard(margins, p_base, p_offer, 0.1, ECON)
    assert not econ.passed
    assert why in econ.detail
    assert "cannot be evaluated" in econ.detail
    m = np.array([margins])
    table = evaluate_combos(m, m, np.array([p_base]), np.array([p_offer]), _tier(0.1), HARD, ECON)
    assert not table.ok[0]


def test_economic_guard_counts_the_subsidy() -> None:
    # gain 3 x 1.00 x 0.05 = 0.15; the reward of 1.00 is paid with P = 0.55 * 0.55 * 0.15 = 0.045
    result = check_economic_guard([1.0] * 3, [0.5, 0.5, 0.1], [0.55, 0.55, 0.15], 1.0, ECON)
    assert result.passed
    assert "expected profit 0.1046" in result.detail
    costly = check_economic_guard([1.0] * 3, [0.5, 0.5, 0.1], [0.55, 0.55, 0.15], 4.0, ECON)
    assert not costly.passed


def test_odds_ratio_lift_gains_most_in_the_middle() -> None:
    beta = math.log(2.0)  # the offer doubles the odds of buying
    assert logit_shift(0.5, beta) == pytest.approx(2 / 3)
    assert logit_shift(0.2, beta) == pytest.approx(0.5 / 1.5)
    gains = {p: logit_shift(p, beta) - p for p in (0.01, 0.3, 0.5, 0.99)}
    assert gains[0.3] > gains[0.01]
    assert gains[0.3] > gains[0.99]
    # a sure thing stays sure, an impossible one impossible, NaN stays NaN
    assert logit_shift(1.0, beta) == 1.0
    assert logit_shift(0.0, beta) == 0.0
    assert math.isnan(logit_shift(math.nan, beta))


@given(p=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=30), beta=st.floats(-3.0, 3.0))
def test_vectorised_lift_agrees_with_the_scalar_one(p: list[float], beta: float) -> None:
    arr = logit_shift_array(np.array(p), beta)
    assert arr.tolist() == pytest.approx([logit_shift(x, beta) for x in p])
    if beta >= 0:
        assert (arr >= np.array(p) - 1e-12).all()


def test_the_guards_use_a_conservative_quantile_never_below_zero() -> None:
    lifts = LiftFile.model_validate(lifts_dict(0.4, 0.4, std_error=0.2))
    est = lifts.estimate("stretch", "PRODUCE")
    assert est.bound(0.5) == pytest.approx(0.4)
    assert est.bound(0.25) == pytest.approx(0.4 - 0.6745 * 0.2, abs=1e-4)
    assert (
        LiftFile.model_validate(lifts_dict(-0.3, 0.1, std_error=0.1)).estimate("habitual", "x").bound(0.5)
        == 0
    )


def test_reward_is_cut_to_what_the_margin_carries_down_to_the_floor() -> None:
    # 100 stars at 0.01 = 1.00; margins 1.2 carry 0.60 = 60 stars at a 50% share
    stars = fitting_stars(np.array([1.2, 3.0, 0.5, math.nan]), 100, 50, 0.01, HARD)
    assert stars.tolist() == [60.0, 100.0, 0.0, 0.0]
    table = evaluate_combos(
        np.array([[0.4, 0.4, 0.4]]),
        np.array([[0.4, 0.4, 0.4]]),
        np.array([[0.5, 0.5, 0.1]]),
        np.array([[0.55, 0.55, 0.15]]),
        _tier(1.0, floor=50),
        HARD,
        ECON,
    )
    assert table.stars.tolist() == [60.0]
    assert table.reward_cost.tolist() == pytest.approx([0.6])


def test_reachability_floor() -> None:
    args = (np.ones((1, 3)), np.ones((1, 3)), np.array([[0.5, 0.5, 0.1]]), np.array([[0.55, 0.55, 0.15]]))
    assert evaluate_combos(*args, _tier(0.1, reach=0.04), HARD, ECON).ok.tolist() == [True]
    assert evaluate_combos(*args, _tier(0.1, reach=0.05), HARD, ECON).ok.tolist() == [False]


@given(
    rows=st.lists(
        st.tuples(
            st.lists(st.floats(0.0, 10.0), min_size=3, max_size=3),
            st.lists(st.floats(0.0, 1.0), min_size=3, max_size=3),
        ),
        min_size=1,
        max_size=20,
    ),
    cost=st.floats(0.01, 5.0),
    lift=st.floats(0.0, 1.5),
    habit=st.floats(0.0, 5.0),
)
def test_vectorised_guards_agree_with_the_scalar_ones(
    rows: list[tuple[list[float], list[float]]], cost: float, lift: float, habit: float
) -> None:
    margins = np.array([m for m, _ in rows])
    values = margins + np.array([0.0, 0.0, habit])
    p_base = np.array([p for _, p in rows])
    p_offer = logit_shift_array(p_base, lift)
    table = evaluate_combos(margins, values, p_base, p_offer, _tier(cost), HARD, ECON)
    for k in range(len(rows)):
        scalar_offer = [logit_shift(p, lift) for p in p_base[k]]
        assert scalar_offer == pytest.approx(p_offer[k].tolist())
        hard = check_hard_guard(margins[k].tolist(), cost, HARD).passed
        econ = check_economic_guard(values[k].tolist(), p_base[k].tolist(), scalar_offer, cost, ECON)
        # exact ties may round either way between the two summation orders
        if abs(cost - 0.5 * margins[k].sum()) > 1e-6:
            assert bool(table.hard_ok[k]) == hard
        if hard and abs(table.expected_profit[k]) > 1e-9:
            assert bool(table.economic_ok[k]) == econ.passed


def test_budget_keeps_best_ratio_first_up_to_the_shadow_price() -> None:
    cost = [1.0, 1.0, 0.5, 0.0, 2.0]
    profit = [1.0, 3.0, 0.5, 0.1, 10.0]
    # ratios 1, 3, 1, free, 5: items 4 and 1 fit (3.0 of 3.6); item 0 (ratio 1, first of the tie in input
    # order) does not: it is the price, and item 2 after it is not kept either
    alloc = allocate_budget(cost, profit, 3.6)
    assert alloc.keep.tolist() == [False, True, False, True, True]
    assert alloc.shadow_price == ShadowPrice(1.0, 0)
    assert alloc.spent == 3.0
    price = alloc.shadow_price
    assert [
        price.admits(c, p, k) for k, (c, p) in enumerate(zip(cost, profit, strict=True))
    ] == alloc.keep.tolist()
    # the tie key decides within a ratio: with item 2 first, it fits and item 0 is the price
    swapped = allocate_budget(cost, profit, 3.6, keys=[5, 1, 2, 3, 4])
    assert swapped.keep.tolist() == [False, True, True, True, True]
    assert swapped.shadow_price == ShadowPrice(1.0, 5)
    unlimited = allocate_budget(cost, profit, None)
    assert unlimited.keep.all()
    assert unlimited.shadow_price is None
    assert allocate_budget([math.nan, 1.0], [1.0, 1.0], None).keep.tolist() == [False, True]
    assert allocate_budget(cost, profit, 100.0).shadow_price is None
    assert tie_key(17) == tie_key("17")
    assert tie_key(17) != tie_key(18)
