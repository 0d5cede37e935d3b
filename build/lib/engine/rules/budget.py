"""The weekly budget on expected reward cost across members, and its shadow price. Pure.

When the budget binds, challenges are kept in order of expected profit per unit of expected cost (the
fractional-knapsack order; ties broken by a hash of the member id, :func:`tie_key`) for as long as they
fit. The first one that does not fit sets the week's **shadow price** (the Lagrange multiplier of the
budget constraint, with its tie key): a challenge is kept exactly when it comes before it in that order.
Serving applies the same test to each first issuance, so the challenges issued online one request at a
time, in any order, are the ones the weekly batch chose; the one-pass greedy fill of cheaper challenges
after the first that does not fit is given up for that agreement. Challenges with no expected cost are
always kept: they spend nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatSeq = Sequence[float] | npt.NDArray[np.float64]


def tie_key(member_id: object) -> int:
    """A stable pseudo-random order among members (the same in every process and run)."""
    return int.from_bytes(hashlib.blake2b(str(member_id).encode(), digest_size=7).digest(), "big")


@dataclass(frozen=True)
class ShadowPrice:
    """Expected profit per unit of expected cost a challenge must beat, with the tie key at that ratio."""

    ratio: float
    key: int

    def admits(self, expected_cost: float, expected_profit: float, key: int) -> bool:
        """Whether a challenge comes before the price in the budget's order (free ones always do)."""
        if expected_cost == 0:
            return True
        ratio = expected_profit / expected_cost
        return ratio > self.ratio or (ratio == self.ratio and key < self.key)


@dataclass(frozen=True)
class Allocation:
    """Which challenges the budget keeps, and the shadow price that decides it (None: it does not bind)."""

    keep: npt.NDArray[np.bool_]
    shadow_price: ShadowPrice | None
    spent: float


def allocate_budget(
    expected_cost: FloatSeq,
    expected_profit: FloatSeq,
    budget: float | None,
    keys: Sequence[int] | None = None,
) -> Allocation:
    """The budget's allocation: kept challenges (sum of ``expected_cost`` at most ``budget``) and the price.

    ``budget`` None means unlimited; ``keys`` break ties (default: input order). Costs must be finite and
    non-negative (the guards ensure it for issued challenges); a row that breaks this is never kept.
    """
    cost = np.asarray(expected_cost, dtype=np.float64)
    profit = np.asarray(expected_profit, dtype=np.float64)
    key = np.arange(len(cost)) if keys is None else np.asarray(keys, dtype=np.int64)
    valid = np.isfinite(cost) & (cost >= 0) & np.isfinite(profit)
    if budget is None:
        return Allocation(valid, None, float(cost[valid].sum()))
    paid = np.flatnonzero(valid & (cost > 0))
    with np.errstate(over="ignore"):  # a tiny cost gives an infinite ratio: it simply ranks first
        ratio = profit[paid] / cost[paid]
    order = np.lexsort((key[paid], -ratio))
    fits = np.cumsum(cost[paid][order]) <= budget
    keep = valid & (cost == 0)
    if fits.all():
        keep[paid] = True
        return Allocation(keep, None, float(cost[keep].sum()))
    first_out = int(np.argmin(fits))
    keep[paid[order[:first_out]]] = True
    at = order[first_out]
    return Allocation(keep, ShadowPrice(float(ratio[at]), int(key[paid[at]])), float(cost[keep].sum()))


@dataclass(frozen=True)
class BudgetPrices:
    """A week's shadow prices: on trial challenges (their own cap) and on all challenges."""

    trial: ShadowPrice | None = None
    total: ShadowPrice | None = None

    def admits(self, expected_cost: float, expected_profit: float, trial: bool, key: int) -> bool:
        """Whether a challenge with this money clears the prices, as the weekly batch would keep it."""
        if trial and self.trial is not None and not self.trial.admits(expected_cost, expected_profit, key):
            return False
        return self.total is None or self.total.admits(expected_cost, expected_profit, key)


def select_within_budget(
    expected_cost: FloatSeq, expected_profit: FloatSeq, budget: float | None
) -> npt.NDArray[np.bool_]:
    """Mask of the challenges :func:`allocate_budget` keeps (ties in input order)."""
    return allocate_budget(expected_cost, expected_profit, budget).keep
