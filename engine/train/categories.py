"""Category-level statistics at a cutoff week, computed once over all members.

Adoption among non-buyers (over ``popularity_weeks`` and over the recent ``trend_weeks``), the
penetration trend, the buyer share and each category's suggested item. They are per category, so they
stay small (a few arrays of categories) however many members there are. Every number comes from
:class:`~engine.train.history.History` rows with ``week < cutoff`` only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.data.schema import SALES_VALUE, WEEK
from engine.train.config import FeatureParams
from engine.train.habit import HabitParams, is_adoption
from engine.train.history import CATEGORY_IDX, ITEM_IDX, MEMBER_IDX, History

#: The artifact items' column that carries :attr:`CategoryStats.adopter_spend` for the item's category.
ADOPTER_SPEND = "adopter_spend"


@dataclass(frozen=True)
class CategoryStats:
    """Per category index at a cutoff: adoption among non-buyers, its trend, buyer share, suggested item.

    Attributes
    ----------
    adoption_rate
        Weekly adoption hazard among non-buyers over the ``popularity_weeks`` before the cutoff.
    adoption_recent
        The same hazard over the last ``trend_weeks`` only.
    penetration_trend
        Share of shoppers buying in the category per week over the last ``trend_weeks``, divided by the
        same share over ``popularity_weeks`` (smoothed): above 1 for categories in season or on the rise.
    adopter_spend
        What a new adopter of the category spends on it over the adoption week and the habit horizon
        after it (:func:`adopter_spend`); 1 for every category when the data has no adopter yet.
    """

    adoption_rate: np.ndarray
    buyer_share: np.ndarray
    suggested_item_idx: np.ndarray  # -1 where the category has no item that may carry an offer
    unit_margin: np.ndarray
    adoption_recent: np.ndarray
    penetration_trend: np.ndarray
    adopter_spend: np.ndarray


def _adoption_hazard(
    first: pd.DataFrame, member_first: pd.Series, week: int, n_weeks: int, n_cats: int
) -> np.ndarray:
    """New buyers per category over the ``n_weeks`` before ``week`` / non-buyer member-weeks."""
    adopters = np.zeros(n_cats)
    nonbuyers = np.zeros(n_cats)
    member_first_weeks = np.sort(member_first.to_numpy())
    first_member_week = member_first.reindex(first[MEMBER_IDX].to_numpy()).to_numpy()
    first_weeks = first[WEEK].to_numpy()
    for v in range(max(week - n_weeks, 1), week):
        active = np.searchsorted(member_first_weeks, v, side="left")  # members seen before v
        bought = np.bincount(first.loc[first_weeks < v, CATEGORY_IDX], minlength=n_cats)
        new = (first_weeks == v) & (first_member_week < v)
        adopters += np.bincount(first.loc[new, CATEGORY_IDX], minlength=n_cats)
        nonbuyers += active - bought
    return np.divide(adopters, nonbuyers, out=np.zeros(n_cats), where=nonbuyers > 0)


def _penetration(history: History, week: int, n_weeks: int) -> np.ndarray:
    """Per category: buyer-weeks / shopper-weeks over the ``n_weeks`` before ``week``."""
    start = week - n_weeks
    mcw = history.member_categories(week)
    buys = np.bincount(
        mcw.loc[mcw[WEEK].to_numpy() >= start, CATEGORY_IDX], minlength=len(history.categories)
    )
    mw = history.member_weeks(week)
    shopper_weeks = int((mw[WEEK].to_numpy() >= start).sum())
    return buys / max(shopper_weeks, 1)


def adopter_spend(
    history: History,
    mcw: pd.DataFrame,
    first: pd.DataFrame,
    member_first: pd.Series,
    week: int,
    habit: HabitParams,
) -> np.ndarray:
    """Per category: the mean spend of its adopters on it in the adoption week and the horizon after.

    ``mcw`` holds ``history.member_categories(week)``, ``first`` each member's first week in each
    category and ``member_first`` each member's first week. Adopters as :mod:`engine.train.habit`
    defines them (:func:`~engine.train.habit.is_adoption`: first purchase of the category in weeks
    ``[week - horizon - window, week - horizon)``, after at least ``min_history_weeks`` of shopping
    without it), so every week counted lies before ``week``. Shrunk towards the department's adopters by
    ``prior_adopters`` pseudo-adopters (all adopters where the department has none). The 9-week spend a
    stretch pick can start (issue 11) grows with this number, not with the suggested product's price.
    """
    n_cats = len(history.categories)
    seen = member_first.reindex(first[MEMBER_IDX].to_numpy()).to_numpy()
    adopt = first[is_adoption(first[WEEK].to_numpy(), seen, week, habit)]
    if adopt.empty:
        return np.ones(n_cats)
    rows = mcw.merge(adopt.rename(columns={WEEK: "first"}), on=[MEMBER_IDX, CATEGORY_IDX])
    after = rows[WEEK].to_numpy() - rows["first"].to_numpy()
    rows = rows[(after >= 0) & (after <= habit.horizon_weeks)]
    spend = rows.groupby([MEMBER_IDX, CATEGORY_IDX], sort=False)[SALES_VALUE].sum().reset_index()
    n = np.bincount(spend[CATEGORY_IDX], minlength=n_cats).astype(np.float64)
    total = np.bincount(spend[CATEGORY_IDX], weights=spend[SALES_VALUE], minlength=n_cats)
    dept = history.category_department_idx
    n_dept = np.bincount(dept, weights=n, minlength=len(history.departments))
    total_dept = np.bincount(dept, weights=total, minlength=len(history.departments))
    overall = total.sum() / n.sum()
    prior = np.divide(total_dept, n_dept, out=np.full(len(n_dept), overall), where=n_dept > 0)[dept]
    k = habit.prior_adopters
    weight = n + k
    shrunk = np.divide(total + k * prior, weight, out=prior.copy(), where=weight > 0)
    return np.asarray(shrunk, dtype=np.float64)


def category_stats(
    history: History, week: int, features: FeatureParams, habit: HabitParams | None = None
) -> CategoryStats:
    """Category adoption among non-buyers over the ``popularity_weeks`` before ``week``, and more.

    A member counts as a non-buyer of a category in week ``v`` when they shopped before ``v`` but never
    in that category; they adopt it in ``v`` when ``v`` is their first week in it. Seasonal categories
    (stone fruit in summer, baking in November) move faster than an 8-week average, so the recent hazard
    and the penetration trend are kept beside it.
    """
    n_cats = len(history.categories)
    mcw = history.member_categories(week)
    first = mcw.groupby([MEMBER_IDX, CATEGORY_IDX], sort=False)[WEEK].min().reset_index()
    member_first = history.member_weeks(week).groupby(MEMBER_IDX)[WEEK].min()
    adoption = _adoption_hazard(first, member_first, week, features.popularity_weeks, n_cats)
    recent = _adoption_hazard(first, member_first, week, features.trend_weeks, n_cats)
    smooth = features.penetration_smoothing
    trend = (_penetration(history, week, features.trend_weeks) + smooth) / (
        _penetration(history, week, features.popularity_weeks) + smooth
    )
    buyer_share = np.bincount(first[CATEGORY_IDX], minlength=n_cats) / max(len(member_first), 1)
    suggested = _suggested_items(history, week)
    margin = np.where(suggested >= 0, history.unit_margin[np.maximum(suggested, 0)], 0.0)
    spend = adopter_spend(history, mcw, first, member_first, week, habit or HabitParams())
    return CategoryStats(adoption, buyer_share, suggested, margin, recent, trend, spend)


def _suggested_items(history: History, week: int) -> np.ndarray:
    """Per category: the eligible product bought by the most distinct members before ``week`` (-1: none)."""
    miw = history.member_item(week)
    buyers = miw.groupby(ITEM_IDX, sort=True)[MEMBER_IDX].nunique()
    item_idx = buyers.index.to_numpy()
    ok = ~history.excluded[item_idx]
    ranked = pd.DataFrame(
        {
            ITEM_IDX: item_idx[ok],
            CATEGORY_IDX: history.item_category_idx[item_idx[ok]],
            "n": buyers.to_numpy()[ok],
        }
    ).sort_values(["n", ITEM_IDX], ascending=[False, True], kind="stable")
    best = ranked.drop_duplicates(CATEGORY_IDX)
    out = np.full(len(history.categories), -1, dtype=np.int64)
    out[best[CATEGORY_IDX].to_numpy()] = best[ITEM_IDX].to_numpy()
    return out
