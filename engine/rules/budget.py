"""The weekly budget on expected reward cost across members, and its shadow price. Pure.

When the budget binds, challenges are kept in order of expected profit per unit of expected cost (the
fractional-knapsack order) for as long as they fit, and the ratio of the first one that does not fit is
the week's **shadow price** (the Lagrange multiplier of the budget constraint): a challenge is kept
exactly when its ratio is above it. Serving applies the same price to each first issuance, so the
challenges issued online one request at a time are the ones the weekly batch chose; the one-pass greedy
fill of cheaper challenges after the first that does not fit is given up for that agreement.
Challenges with no expected cost are always kept: they spend nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatSeq = Sequence[float] | npt.NDArray[np.float64]


@dataclass(frozen=True)
class Allocation:
    """Which challenges the budget keeps, and the shadow price that decides it.

    ``shadow_price`` is ``None`` when the budget does not bind (everything valid is kept); otherwise a
    paid challenge is kept when its expected profit per unit of expected cost is above it.
    """

    keep: npt.NDArray[np.bool_]
    shadow_price: float | None
    spent: float


def passes_shadow_price(expected_cost: float, expected_profit: float, shadow_price: float | None) -> bool:
    """Whether one challenge clears the week's shadow price (free ones always do)."""
    if shadow_price is None or expected_cost == 0:
        return True
    return expected_profit / expected_cost > shadow_price


def allocate_budget(expected_cost: FloatSeq, expected_profit: FloatSeq, budget: float | None) -> Allocation:
    """The budget's allocation: kept challenges (sum of ``expected_cost`` at most ``budget``) and the price.

    ``budget`` None means unlimited. Costs must be finite and non-negative (the guards ensure it for
    issued challenges); a row that breaks this is never kept.
    """
    cost = np.asarray(expected_cost, dtype=np.float64)
    profit = np.asarray(expected_profit, dtype=np.float64)
    valid = np.isfinite(cost) & (cost >= 0) & np.isfinite(profit)
    if budget is None:
        return Allocation(valid, None, float(cost[valid].sum()))
    paid = np.flatnonzero(valid & (cost > 0))
    with np.errstate(over="ignore"):  # a tiny cost gives an infinite ratio: it simply ranks first
        ratio = profit[paid] / cost[paid]
    order = np.argsort(-ratio, kind="stable")
    fits = np.cumsum(cost[paid][order]) <= budget
    keep = valid & (cost == 0)
    if fits.all():
        keep[paid] = True
        return Allocation(keep, None, float(cost[keep].sum()))
    price = float(ratio[order][int(np.argmin(fits))])  # the first that does not fit
    keep[paid[ratio > price]] = True
    return Allocation(keep, price, float(cost[keep].sum()))


@dataclass(frozen=True)
class BudgetPrices:
    """A week's shadow prices: on trial challenges (their own cap) and on all challenges."""

    trial: float | None = None
    total: float | None = None

    def admits(self, expected_cost: float, expected_profit: float, trial: bool) -> bool:
        """Whether a challenge with this money clears the prices, as the weekly batch would keep it."""
        if trial and not passes_shadow_price(expected_cost, expected_profit, self.trial):
            return False
        return passes_shadow_price(expected_cost, expected_profit, self.total)


def select_within_budget(
    expected_cost: FloatSeq, expected_profit: FloatSeq, budget: float | None
) -> npt.NDArray[np.bool_]:
    """Mask of the challenges :func:`allocate_budget` keeps."""
    return allocate_budget(expected_cost, expected_profit, budget).keep
