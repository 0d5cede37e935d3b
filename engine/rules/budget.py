"""The weekly budget on expected reward cost across members. Pure.

When the budget binds, challenges are kept greedily by expected profit per unit of expected cost (the
classic fractional-knapsack order), skipping any that no longer fit and trying the cheaper ones after
them, so the budget buys as much expected profit as a simple rule can find; ties keep input order.
Challenges with no expected cost are always kept: they spend nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt


def select_within_budget(
    expected_cost: Sequence[float] | npt.NDArray[np.float64],
    expected_profit: Sequence[float] | npt.NDArray[np.float64],
    budget: float | None,
) -> npt.NDArray[np.bool_]:
    """Mask of the challenges kept so that the sum of kept ``expected_cost`` is at most ``budget``.

    ``budget`` None means unlimited. Costs must be finite and non-negative (the guards ensure it for
    issued challenges); a row that breaks this is never kept.
    """
    cost = np.asarray(expected_cost, dtype=np.float64)
    profit = np.asarray(expected_profit, dtype=np.float64)
    valid = np.isfinite(cost) & (cost >= 0) & np.isfinite(profit)
    if budget is None:
        return valid
    keep = np.zeros(cost.shape, dtype=bool)
    free = valid & (cost == 0)
    keep[free] = True
    paid = np.flatnonzero(valid & (cost > 0))
    with np.errstate(over="ignore"):  # a tiny cost gives an infinite ratio: it simply ranks first
        ratio = profit[paid] / cost[paid]
    order = paid[np.lexsort((paid, -ratio))]
    spent = 0.0
    for k in order.tolist():
        if spent + cost[k] <= budget:
            keep[k] = True
            spent += float(cost[k])
    return keep
