"""Margin guards: no challenge may lose money. Pure: no I/O.

Hard guard
    reward_cost <= max_reward_share * sum_i margin_i, the unit gross margins of the three qualifying
    purchases at shelf price (the Coke-and-sandwich lesson: a reward must not eat the whole margin).
Economic guard
    sum_i margin_i * (p_offer_i - p_base_i) - reward_cost * P(complete | offer) >= min_expected_profit,
    with P(complete | offer) = prod_i p_offer_i (picks assumed independent) and p_offer from the lift
    assumption per pick kind. Paying the reward for purchases that would have happened anyway is a cost.

A guard that cannot be evaluated (missing or non-finite margin, price or probability, probability
outside [0, 1]) fires: the offer is refused, never waved through. Each check exists in a scalar form,
which explains itself, and a vectorised form used to search many combinations at once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from engine.rules.config import EconomicGuard, HardGuard, Lift
from engine.rules.outcome import RuleResult

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def apply_lift(p_base: float, lift: Lift) -> float:
    """P(buy | offer) under the lift assumption, capped at ``max_p_offer`` and never below ``p_base``."""
    raw = p_base + lift.value if lift.mode == "absolute" else p_base * (1.0 + lift.value)
    return max(p_base, min(raw, lift.max_p_offer))


def apply_lift_array(p_base: FloatArray, lift: Lift) -> FloatArray:
    """Vectorised :func:`apply_lift` (NaN stays NaN)."""
    raw = p_base + lift.value if lift.mode == "absolute" else p_base * (1.0 + lift.value)
    return np.fmax(p_base, np.minimum(raw, lift.max_p_offer)) if raw.size else raw


def _is_probability(p: float) -> bool:
    return math.isfinite(p) and 0.0 <= p <= 1.0


def unevaluable(
    margins: Sequence[float], p_base: Sequence[float], p_offer: Sequence[float], reward_cost: float
) -> str | None:
    """Why the guards cannot be evaluated on these inputs, or ``None`` when they can."""
    if not math.isfinite(reward_cost) or reward_cost < 0:
        return f"reward cost {reward_cost!r} is missing or negative"
    for k, m in enumerate(margins):
        if not math.isfinite(m):
            return f"pick {k + 1} has no known margin (price or margin rate missing)"
    for k, (pb, po) in enumerate(zip(p_base, p_offer, strict=True)):
        if not (_is_probability(pb) and _is_probability(po)):
            return f"pick {k + 1} has no valid purchase probability (p_base={pb!r}, p_offer={po!r})"
    return None


def check_hard_guard(margins: Sequence[float], reward_cost: float, guard: HardGuard) -> RuleResult:
    """The hard guard on one challenge, explained."""
    nan_p = [0.0] * len(margins)
    why = unevaluable(margins, nan_p, nan_p, reward_cost)
    if why is not None:
        return RuleResult("hard_guard", False, f"cannot be evaluated: {why}")
    total = float(sum(margins))
    cap = guard.max_reward_share * total
    share = reward_cost / total if total > 0 else math.inf
    if reward_cost <= cap:
        return RuleResult(
            "hard_guard",
            True,
            f"reward {reward_cost:.2f} is {share:.0%} of the picks' margin {total:.2f} "
            f"(max {guard.max_reward_share:.0%} = {cap:.2f})",
        )
    return RuleResult(
        "hard_guard",
        False,
        f"reward {reward_cost:.2f} exceeds {guard.max_reward_share:.0%} of the gross margin the three "
        f"qualifying purchases bring ({total:.2f}, cap {cap:.2f}); the reward would eat "
        f"{'more than the whole' if reward_cost > total else f'{share:.0%} of the'} margin",
    )


@dataclass(frozen=True, slots=True)
class Economics:
    """The money of one challenge: incremental margin, expected reward cost, expected profit."""

    incremental_margin: float
    p_complete: float
    expected_cost: float
    expected_profit: float


def economics(
    margins: Sequence[float], p_base: Sequence[float], p_offer: Sequence[float], reward_cost: float
) -> Economics:
    """Expected incremental profit of one challenge (NaN inputs give NaN results)."""
    incremental = sum(m * (po - pb) for m, pb, po in zip(margins, p_base, p_offer, strict=True))
    p_complete = math.prod(p_offer)
    cost = reward_cost * p_complete
    return Economics(incremental, p_complete, cost, incremental - cost)


def check_economic_guard(
    margins: Sequence[float],
    p_base: Sequence[float],
    p_offer: Sequence[float],
    reward_cost: float,
    guard: EconomicGuard,
) -> RuleResult:
    """The economic guard on one challenge, explained."""
    why = unevaluable(margins, p_base, p_offer, reward_cost)
    if why is not None:
        return RuleResult("economic_guard", False, f"cannot be evaluated: {why}")
    money = economics(margins, p_base, p_offer, reward_cost)
    text = (
        f"expected profit {money.expected_profit:.4f} = incremental margin {money.incremental_margin:.4f} "
        f"- reward {reward_cost:.2f} x P(complete) {money.p_complete:.4f}"
    )
    if money.expected_profit >= guard.min_expected_profit:
        return RuleResult("economic_guard", True, f"{text} >= {guard.min_expected_profit:.4f}")
    return RuleResult("economic_guard", False, f"{text} < minimum {guard.min_expected_profit:.4f}")


@dataclass(frozen=True)
class ComboTable:
    """Guards over many combinations at once; every array has one entry per combination."""

    evaluable: BoolArray
    hard_ok: BoolArray
    economic_ok: BoolArray
    expected_profit: FloatArray
    expected_cost: FloatArray
    p_complete: FloatArray

    @property
    def ok(self) -> BoolArray:
        """Combinations that pass both guards."""
        return self.evaluable & self.hard_ok & self.economic_ok


def evaluate_combos(
    margins: FloatArray,
    p_base: FloatArray,
    p_offer: FloatArray,
    reward_cost: float,
    hard: HardGuard,
    economic: EconomicGuard,
) -> ComboTable:
    """Both guards for each row of ``(n, 3)`` arrays of margins and probabilities."""
    with np.errstate(invalid="ignore"):
        valid_p = (p_base >= 0) & (p_base <= 1) & (p_offer >= 0) & (p_offer <= 1)
        cost_ok = bool(math.isfinite(reward_cost) and reward_cost >= 0)
        evaluable = np.asarray(
            np.isfinite(margins).all(axis=1) & valid_p.all(axis=1) & cost_ok, dtype=np.bool_
        )
        total = margins.sum(axis=1)
        hard_ok = reward_cost <= hard.max_reward_share * total
        p_complete = p_offer.prod(axis=1)
        cost = reward_cost * p_complete
        profit = (margins * (p_offer - p_base)).sum(axis=1) - cost
        economic_ok = profit >= economic.min_expected_profit
    return ComboTable(evaluable, hard_ok, economic_ok, profit, cost, p_complete)
