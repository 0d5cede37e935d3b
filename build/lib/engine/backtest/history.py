"""Purchase-history summaries the baselines rank from, computed from data strictly before a cutoff.

Every function here takes the training slice (``week < as_of_week``) and refuses anything later, so a
baseline cannot see the challenge window even by mistake: the no-leakage guarantee is checked here,
not only trusted to the caller.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.data.schema import BASKET_ID, CATEGORY, EXCLUDED, ITEM_ID, MEMBER_ID, WEEK
from engine.errors import DataValidationError


def check_before(transactions: pd.DataFrame, as_of_week: int, where: str) -> None:
    """Refuse transactions at or after the cutoff (they would leak the challenge window).

    Raises
    ------
    DataValidationError
        Naming ``where``, how many rows are late and a few of their weeks.
    """
    late = transactions[WEEK] >= as_of_week
    if late.any():
        weeks = sorted(pd.unique(transactions.loc[late, WEEK]).tolist())[:5]
        raise DataValidationError(
            f"{where}: {int(late.sum())} transaction rows have week >= as_of_week {as_of_week} "
            f"(e.g. weeks {weeks}); pass dataset.before_week({as_of_week})"
        )


def with_category(transactions: pd.DataFrame, catalog: pd.DataFrame) -> pd.DataFrame:
    """Transactions with each line's ``category`` and ``excluded`` flag from the catalog.

    Lines whose item has no category are dropped: a stretch category cannot be built from them.
    """
    info = catalog.set_index(ITEM_ID)[[CATEGORY, EXCLUDED]]
    out = transactions.join(info, on=ITEM_ID)
    out[EXCLUDED] = out[EXCLUDED].fillna(True).astype(bool)
    return out[out[CATEGORY].notna()]


def member_item_counts(transactions: pd.DataFrame) -> pd.DataFrame:
    """Per (member, item): baskets and distinct weeks with the item, and the last week bought.

    Returns
    -------
    pandas.DataFrame
        ``member_id``, ``item_id``, ``n_baskets``, ``n_weeks``, ``last_week``.
    """
    grouped = transactions.groupby([MEMBER_ID, ITEM_ID], sort=False)
    out = grouped.agg(n_baskets=(BASKET_ID, "nunique"), n_weeks=(WEEK, "nunique"), last_week=(WEEK, "max"))
    return out.reset_index()


def member_first_week(transactions: pd.DataFrame) -> pd.Series:
    """Each member's first week with any purchase (index ``member_id``)."""
    return transactions.groupby(MEMBER_ID, sort=False)[WEEK].min()


def decay_weights(weeks: np.ndarray, as_of_week: int, half_life_weeks: float) -> np.ndarray:
    """Weight of a purchase in ``weeks``: 1 in the week before the cutoff, halving every half-life."""
    age = (as_of_week - 1) - weeks.astype("float64")
    return np.power(0.5, age / half_life_weeks)


def decayed_span(first_week: pd.Series, as_of_week: int, half_life_weeks: float) -> pd.Series:
    """Sum of weekly decay weights over each member's observed weeks ``first_week .. as_of_week - 1``.

    This is the denominator that turns a decayed count of purchase weeks into a weekly probability.
    """
    ratio = 0.5 ** (1.0 / half_life_weeks)
    n = (as_of_week - first_week.astype("float64")).clip(lower=1.0)
    # geometric series 1 + r + ... + r^(n-1)
    return (1.0 - ratio**n) / (1.0 - ratio)


@dataclass(frozen=True)
class CategoryStats:
    """What every stretch baseline needs about categories before the cutoff.

    Attributes
    ----------
    member_categories
        ``member_id``, ``category``: categories each member bought (the stretch pick must avoid them).
    adoption
        Weekly adoption hazard among non-buyers per category (index ``category``): new buyers in the
        last ``lookback`` weeks / (members active before those weeks who had not bought it x weeks).
    suggested_item
        Per category, the non-excluded item bought by the most distinct members (index ``category``).
    buyers
        Distinct buyers per category (index ``category``).
    """

    member_categories: pd.DataFrame
    adoption: pd.Series
    suggested_item: pd.Series
    buyers: pd.Series

    @property
    def eligible(self) -> pd.Index:
        """Categories that can be offered: they have a non-excluded item to suggest."""
        return self.suggested_item.index


def category_stats(tx: pd.DataFrame, as_of_week: int, lookback_weeks: int) -> CategoryStats:
    """Summarise categories from transactions carrying ``category`` and ``excluded`` (see ``with_category``).

    Parameters
    ----------
    tx
        Training transactions with ``category`` and ``excluded`` columns, all with ``week < as_of_week``.
    as_of_week
        The cutoff.
    lookback_weeks
        Weeks before the cutoff over which adoption among non-buyers is measured; shortened when the
        data is shorter (at least one week of history must precede the lookback).
    """
    check_before(tx, as_of_week, "category_stats")
    pairs = tx.groupby([MEMBER_ID, CATEGORY], sort=False)[WEEK].min().rename("first_week").reset_index()
    buyers = pairs.groupby(CATEGORY, sort=False)[MEMBER_ID].size()

    first_week = tx[WEEK].min() if len(tx) else as_of_week
    start = max(as_of_week - lookback_weeks, int(first_week) + 1)
    weeks = max(as_of_week - start, 1)
    member_start = member_first_week(tx)
    n_active = int((member_start < start).sum())
    established = pairs[MEMBER_ID].map(member_start) < start
    before = pairs[established & (pairs["first_week"] < start)].groupby(CATEGORY, sort=False).size()
    adopters = pairs[established & (pairs["first_week"] >= start)].groupby(CATEGORY, sort=False).size()
    cats = buyers.index
    non_buyers = (n_active - before.reindex(cats, fill_value=0)).clip(lower=0)
    hazard = adopters.reindex(cats, fill_value=0) / (non_buyers * weeks).where(non_buyers > 0)
    adoption = hazard.fillna(0.0).astype("float64")

    offerable = tx[~tx[EXCLUDED]]
    item_buyers = offerable.groupby([CATEGORY, ITEM_ID], sort=False)[MEMBER_ID].nunique().rename("n")
    ranked = item_buyers.reset_index().sort_values([CATEGORY, "n", ITEM_ID], ascending=[True, False, True])
    suggested = ranked.drop_duplicates(CATEGORY).set_index(CATEGORY)[ITEM_ID]

    return CategoryStats(
        member_categories=pairs[[MEMBER_ID, CATEGORY]].reset_index(drop=True),
        adoption=adoption,
        suggested_item=suggested,
        buyers=buyers,
    )
