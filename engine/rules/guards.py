"""Margin guards: no challenge may lose money. Pure: no I/O.

Hard guard
    reward_cost <= max_reward_share * sum_i margin_i, the unit gross margins of the three qualifying
    purchases at shelf price (the Coke-and-sandwich lesson: a reward must not eat the whole margin).
Economic guard
    sum_i value_i * (p_offer_i - p_base_i) - reward_cost * P(complete | offer) >= min_expected_profit,
    with P(complete | offer) = prod_i p_offer_i (picks assumed independent), p_offer from the odds-ratio
    lift (:mod:`engine.rules.lift`) at a conservative quantile, and value_i the pick's unit margin (for
    the stretch category plus the habit value: what adopters go on to spend on it). Paying the reward for
    purchases that would have happened anyway is a cost, and so is the expected cost of a negative
    reaction (``reaction_cost``, :mod:`engine.rules.negative`): the one place batch and serving both
    subtract it.
Reachability
    P(complete | offer) >= the tier's ``min_p_complete``: a challenge built not to be completed is no
    challenge.

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

from engine.rules.config import EconomicGuard, HardGuard, TierPolicy
from engine.rules.outcome import RuleResult

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


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
    values: Sequence[float],
    p_base: Sequence[float],
    p_offer: Sequence[float],
    reward_cost: float,
    reaction_cost: float = 0.0,
) -> Economics:
    """Expected incremental profit of one challenge, less ``reaction_cost`` (NaN inputs give NaN)."""
    incremental = sum(v * (po - pb) for v, pb, po in zip(values, p_base, p_offer, strict=True))
    p_complete = math.prod(p_offer)
    cost = reward_cost * p_complete
    return Economics(incremental, p_complete, cost, incremental - cost - reaction_cost)


def check_economic_guard(
    values: Sequence[float],
    p_base: Sequence[float],
    p_offer: Sequence[float],
    reward_cost: float,
    guard: EconomicGuard,
    reaction_cost: float = 0.0,
) -> RuleResult:
    """The economic guard on one challenge, explained (``values``: margins plus habit value)."""
    why = unevaluable(values, p_base, p_offer, reward_cost)
    if why is not None:
        return RuleResult("economic_guard", False, f"cannot be evaluated: {why}")
    money = economics(values, p_base, p_offer, reward_cost, reaction_cost)
    text = (
        f"expected profit {money.expected_profit:.4f} = incremental value {money.incremental_margin:.4f} "
        f"- reward {reward_cost:.2f} x P(complete) {money.p_complete:.4f}"
    )
    if reaction_cost:
        text += f" - expected cost of a negative reaction {reaction_cost:.4f}"
    if money.expected_profit >= guard.min_expected_profit:
        return RuleResult("economic_guard", True, f"{text} >= {guard.min_expected_profit:.4f}")
    return RuleResult("economic_guard", False, f"{text} < minimum {guard.min_expected_profit:.4f}")


def fitting_stars(
    margin_total: FloatArray, stars: int, floor_stars: int, cash_per_star: float, guard: HardGuard
) -> FloatArray:
    """Per combination, the most stars up to ``stars`` whose cash cost fits the hard guard.

    0 where even ``floor_stars`` does not fit (the combination then fails the hard guard). NaN margins
    give 0: a guard that cannot be evaluated refuses.
    """
    with np.errstate(invalid="ignore"):
        cap = guard.max_reward_share * margin_total
        fit = np.floor(cap / cash_per_star)
        fit = fit - (fit * cash_per_star > cap)  # floating point: never a cent over the cap
        out = np.minimum(float(stars), fit)
        out = np.where(np.isfinite(out) & (out >= floor_stars), out, 0.0)
    return np.asarray(out, dtype=np.float64)


@dataclass(frozen=True)
class ComboTable:
    """Guards over many combinations at once; every array has one entry per combination.

    ``stars`` is the reward each combination can carry under the hard guard (0: none fits).
    """

    evaluable: BoolArray
    hard_ok: BoolArray
    economic_ok: BoolArray
    reachable: BoolArray
    stars: FloatArray
    reward_cost: FloatArray
    expected_profit: FloatArray
    expected_cost: FloatArray
    p_complete: FloatArray

    @property
    def ok(self) -> BoolArray:
        """Combinations that pass every guard."""
        return self.evaluable & self.hard_ok & self.economic_ok & self.reachable


def evaluate_combos(
    margins: FloatArray,
    values: FloatArray,
    p_base: FloatArray,
    p_offer: FloatArray,
    reward: TierPolicy,
    hard: HardGuard,
    economic: EconomicGuard,
    reaction_cost: float = 0.0,
) -> ComboTable:
    """Every guard for each row of ``(n, 3)`` arrays of margins, values and probabilities.

    The reward is the tier's, cut to the largest that fits the hard guard down to the tier's floor.
    """
    with np.errstate(invalid="ignore"):
        valid_p = (p_base >= 0) & (p_base <= 1) & (p_offer >= 0) & (p_offer <= 1)
        evaluable = np.asarray(
            np.isfinite(margins).all(axis=1) & np.isfinite(values).all(axis=1) & valid_p.all(axis=1),
            dtype=np.bool_,
        )
        stars = fitting_stars(
            margins.sum(axis=1), reward.stars, reward.floor_stars, reward.cash_per_star, hard
        )
        hard_ok = stars > 0
        cost_now = stars * reward.cash_per_star
        p_complete = p_offer.prod(axis=1)
        cost = cost_now * p_complete
        profit = (values * (p_offer - p_base)).sum(axis=1) - cost - reaction_cost
        economic_ok = profit >= economic.min_expected_profit
        reachable = p_complete >= reward.min_p_complete
    return ComboTable(evaluable, hard_ok, economic_ok, reachable, stars, cost_now, profit, cost, p_complete)


def check_reachable(p_complete: float, tier: str, policy: TierPolicy) -> RuleResult:
    """Reachability of one challenge: P(complete | offer) against the tier's floor."""
    if not _is_probability(p_complete):
        return RuleResult("reachability", False, f"cannot be evaluated: P(complete) {p_complete!r}")
    text = f"P(complete | offer) {p_complete:.4f}, {tier} floor {policy.min_p_complete:.4f}"
    return RuleResult("reachability", p_complete >= policy.min_p_complete, text)
