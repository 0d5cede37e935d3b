"""Margin guards, lifts and the budget as pure functions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.rules.budget import select_within_budget
from engine.rules.config import EconomicGuard, HardGuard, Lift
from engine.rules.guards import (
    apply_lift,
    apply_lift_array,
    check_economic_guard,
    check_hard_guard,
    evaluate_combos,
)

HARD = HardGuard(max_reward_share=0.5)
ECON = EconomicGuard(
    min_expected_profit=0.0,
    habitual_lift=Lift(mode="absolute", value=0.05),
    stretch_lift=Lift(mode="relative", value=0.5),
)


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
    table = evaluate_combos(np.array([margins]), np.array([p_base]), np.array([p_offer]), 0.1, HARD, ECON)
    assert not table.ok[0]


def test_economic_guard_counts_the_subsidy() -> None:
    # gain 3 x 1.00 x 0.05 = 0.15; the reward of 1.00 is paid with P = 0.55 * 0.55 * 0.15 = 0.045
    result = check_economic_guard([1.0] * 3, [0.5, 0.5, 0.1], [0.55, 0.55, 0.15], 1.0, ECON)
    assert result.passed
    assert "expected profit 0.1046" in result.detail
    costly = check_economic_guard([1.0] * 3, [0.5, 0.5, 0.1], [0.55, 0.55, 0.15], 4.0, ECON)
    assert not costly.passed


def test_lifts() -> None:
    assert apply_lift(0.3, Lift(mode="absolute", value=0.1)) == pytest.approx(0.4)
    assert apply_lift(0.3, Lift(mode="relative", value=0.5)) == pytest.approx(0.45)
    assert apply_lift(0.9, Lift(mode="absolute", value=0.2, max_p_offer=0.95)) == pytest.approx(0.95)
    # a cap below p_base never lowers the probability: the offer cannot make a purchase less likely
    assert apply_lift(0.97, Lift(mode="absolute", value=0.2, max_p_offer=0.95)) == pytest.approx(0.97)


@given(
    rows=st.lists(
        st.tuples(
            st.lists(st.floats(0.0, 10.0), min_size=3, max_size=3),
            st.lists(st.floats(0.0, 1.0), min_size=3, max_size=3),
        ),
        min_size=1,
        max_size=20,
    ),
    cost=st.floats(0.0, 5.0),
    lift=st.floats(0.0, 0.5),
)
def test_vectorised_guards_agree_with_the_scalar_ones(
    rows: list[tuple[list[float], list[float]]], cost: float, lift: float
) -> None:
    lifts = Lift(mode="absolute", value=lift)
    margins = np.array([m for m, _ in rows])
    p_base = np.array([p for _, p in rows])
    p_offer = apply_lift_array(p_base, lifts)
    table = evaluate_combos(margins, p_base, p_offer, cost, HARD, ECON)
    for k in range(len(rows)):
        scalar_offer = [apply_lift(p, lifts) for p in p_base[k]]
        assert scalar_offer == pytest.approx(p_offer[k].tolist())
        hard = check_hard_guard(margins[k].tolist(), cost, HARD).passed
        econ = check_economic_guard(margins[k].tolist(), p_base[k].tolist(), scalar_offer, cost, ECON)
        # exact ties may round either way between the two summation orders
        if abs(table.expected_profit[k]) > 1e-9:
            assert bool(table.economic_ok[k]) == econ.passed
        if abs(cost - 0.5 * margins[k].sum()) > 1e-9:
            assert bool(table.hard_ok[k]) == hard


def test_budget_keeps_best_ratio_first_then_fills_with_what_fits() -> None:
    cost = [1.0, 1.0, 0.5, 0.0, 2.0]
    profit = [1.0, 3.0, 0.5, 0.1, 10.0]
    # ratios 1, 3, 1, free, 5: items 4 and 1 fit (3.0 of 3.6); tied 0 then 2: 0 does not fit, 2 does
    keep = select_within_budget(cost, profit, 3.6)
    assert keep.tolist() == [False, True, True, True, True]
    assert select_within_budget(cost, profit, None).all()
    assert select_within_budget([math.nan, 1.0], [1.0, 1.0], None).tolist() == [False, True]
