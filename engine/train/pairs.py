"""Candidate pairs and their features at one cutoff week, for the ranker.

Habitual pairs are (member, product) with at least ``min_baskets_habitual`` baskets before the cutoff;
stretch pairs are (member, category) the member never bought before it. Every feature is computed from
:class:`~engine.train.history.History` rows with ``week < cutoff`` only; LightFM scores come from a
model fitted on the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.data.schema import WEEK
from engine.train.affinity import neighbour_scores
from engine.train.config import CandidateParams, FeatureParams
from engine.train.history import BASKETS, CATEGORY_IDX, ITEM_IDX, MEMBER_IDX, History

LABEL = "label"

HABITUAL_FEATURES: tuple[str, ...] = (
    "n_baskets",
    "n_weeks",
    "weeks_since_last",
    "decayed_freq",
    "recent_weeks_bought",
    "share_active_weeks",
    "mean_gap",
    "gap_ratio",
    "item_buyer_share",
    "item_repeat_rate",
    "baskets_per_week",
    "active_share",
    "weeks_since_visit",
    "recent_baskets",
    "lfm_score",
    "lfm_rank_pct",
)

STRETCH_FEATURES: tuple[str, ...] = (
    "adoption_rate",
    "adoption_recent",
    "penetration_trend",
    "adjusted_adoption",
    "buyer_share",
    "cooccurrence",
    "neighbour_recent",
    "department_share",
    "unit_margin",
    "n_categories",
    "baskets_per_week",
    "active_share",
    "weeks_since_visit",
    "recent_baskets",
    "lfm_score",
    "lfm_rank_pct",
)


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
    """

    adoption_rate: np.ndarray
    buyer_share: np.ndarray
    suggested_item_idx: np.ndarray  # -1 where the category has no item that may carry an offer
    unit_margin: np.ndarray
    adoption_recent: np.ndarray
    penetration_trend: np.ndarray


def _rank_pct(frame: pd.DataFrame, column: str) -> np.ndarray:
    # Rank of a pair's LightFM score among the member's own candidates: WARP scores are only comparable
    # within a member, so the ranker gets this as well as the raw value.
    return frame.groupby(MEMBER_IDX, sort=False)[column].rank(pct=True, ascending=False).to_numpy()


def habitual_pairs(
    history: History, week: int, features: FeatureParams, candidates: CandidateParams
) -> pd.DataFrame:
    """Habitual candidate pairs at cutoff ``week`` with their history features (LightFM columns empty).

    Returns
    -------
    pandas.DataFrame
        ``member_idx``, ``item_idx``, ``last_week`` and :data:`HABITUAL_FEATURES` (``lfm_*`` as NaN).
    """
    miw = history.member_item(week)
    weeks = miw[WEEK].to_numpy()
    age = (week - 1 - weeks).astype(np.float64)
    frame = pd.DataFrame(
        {
            MEMBER_IDX: miw[MEMBER_IDX].to_numpy(),
            ITEM_IDX: miw[ITEM_IDX].to_numpy(),
            WEEK: weeks,
            BASKETS: miw[BASKETS].to_numpy(),
            "decayed": miw[BASKETS].to_numpy() * np.power(0.5, age / features.decay_half_life_weeks),
            "recent": weeks >= week - features.recent_weeks,
        }
    )
    g = frame.groupby([MEMBER_IDX, ITEM_IDX], sort=True)
    pairs = g.agg(
        n_baskets=(BASKETS, "sum"),
        n_weeks=(WEEK, "size"),
        first_week=(WEEK, "min"),
        last_week=(WEEK, "max"),
        decayed_freq=("decayed", "sum"),
        recent_weeks_bought=("recent", "sum"),
    ).reset_index()
    n_members = frame[MEMBER_IDX].nunique()
    buyers = pairs.groupby(ITEM_IDX, sort=False).agg(
        buyers=(MEMBER_IDX, "size"), repeaters=("n_weeks", lambda s: int((s >= 2).sum()))
    )
    keep = (pairs["n_baskets"] >= candidates.min_baskets_habitual).to_numpy().copy()
    keep &= ~history.excluded[pairs[ITEM_IDX].to_numpy()]
    pairs = pairs[keep].reset_index(drop=True)
    item = buyers.reindex(pairs[ITEM_IDX].to_numpy())
    pairs["item_buyer_share"] = item["buyers"].to_numpy() / max(n_members, 1)
    pairs["item_repeat_rate"] = item["repeaters"].to_numpy() / item["buyers"].to_numpy()
    stats = history.member_stats(week, features.recent_weeks).reindex(pairs[MEMBER_IDX].to_numpy())
    for column in ("baskets_per_week", "active_share", "weeks_since_visit", "recent_baskets"):
        pairs[column] = stats[column].to_numpy(dtype=np.float64)
    pairs["weeks_since_last"] = week - pairs["last_week"]
    pairs["share_active_weeks"] = pairs["n_weeks"] / stats["active_weeks"].to_numpy()
    pairs["mean_gap"] = (pairs["last_week"] - pairs["first_week"]) / (pairs["n_weeks"] - 1).clip(lower=1)
    pairs["gap_ratio"] = pairs["weeks_since_last"] / pairs["mean_gap"].clip(lower=1)
    pairs["lfm_score"] = np.nan
    pairs["lfm_rank_pct"] = np.nan
    return pairs.drop(columns=["first_week"])


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


def category_stats(history: History, week: int, features: FeatureParams) -> CategoryStats:
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
    return CategoryStats(adoption, buyer_share, suggested, margin, recent, trend)


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


def stretch_pairs(
    history: History, week: int, features: FeatureParams, stats: CategoryStats
) -> tuple[pd.DataFrame, np.ndarray]:
    """Stretch candidate pairs at cutoff ``week`` (LightFM columns empty) and the bought matrix.

    Returns
    -------
    tuple
        The pairs (``member_idx``, ``category_idx``, ``suggested_item_idx`` and :data:`STRETCH_FEATURES`)
        over members active before ``week`` and categories they never bought that have an eligible
        item; and the boolean members x categories matrix of categories bought before ``week``.
    """
    n_members, n_cats = len(history.members), len(history.categories)
    mcw = history.member_categories(week)
    bought = np.zeros((n_members, n_cats), dtype=bool)
    bought[mcw[MEMBER_IDX].to_numpy(), mcw[CATEGORY_IDX].to_numpy()] = True
    stats_m = history.member_stats(week, features.recent_weeks)
    active = np.zeros(n_members, dtype=bool)
    active[stats_m.index.to_numpy()] = True
    # P(c | c') from co-occurrence among members; a member's affinity is the mean over their categories.
    b = bought.astype(np.float32)
    counts = b.sum(axis=0)
    conditional = (b.T @ b) / np.maximum(counts, 1.0)[:, None]
    n_categories = b.sum(axis=1)
    affinity = (b @ conditional) / np.maximum(n_categories, 1.0)[:, None]
    recent_rows = mcw[mcw[WEEK].to_numpy() >= week - features.recent_weeks]
    recent = np.zeros_like(bought)
    recent[recent_rows[MEMBER_IDX].to_numpy(), recent_rows[CATEGORY_IDX].to_numpy()] = True
    neighbours = neighbour_scores(bought, recent, features.n_neighbours)
    dept = history.department_spend(week)
    dept_spend = np.zeros((n_members, len(history.departments)))
    np.add.at(
        dept_spend, (dept["member_idx"].to_numpy(), dept["department_idx"].to_numpy()), dept["sales_value"]
    )
    dept_share = dept_spend / np.maximum(dept_spend.sum(axis=1, keepdims=True), 1e-9)
    mask = ~bought & active[:, None] & (stats.suggested_item_idx >= 0)[None, :]
    m_idx, c_idx = np.nonzero(mask)
    member = stats_m.reindex(m_idx)
    pairs = pd.DataFrame(
        {
            MEMBER_IDX: m_idx,
            CATEGORY_IDX: c_idx,
            "suggested_item_idx": stats.suggested_item_idx[c_idx],
            "adoption_rate": stats.adoption_rate[c_idx],
            "adoption_recent": stats.adoption_recent[c_idx],
            "penetration_trend": stats.penetration_trend[c_idx],
            "adjusted_adoption": stats.adoption_rate[c_idx] * stats.penetration_trend[c_idx],
            "buyer_share": stats.buyer_share[c_idx],
            "cooccurrence": affinity[m_idx, c_idx],
            "neighbour_recent": neighbours[m_idx, c_idx],
            "department_share": dept_share[m_idx, history.category_department_idx[c_idx]],
            "unit_margin": stats.unit_margin[c_idx],
            "n_categories": n_categories[m_idx],
        }
    )
    for column in ("baskets_per_week", "active_share", "weeks_since_visit", "recent_baskets"):
        pairs[column] = member[column].to_numpy(dtype=np.float64)
    pairs["lfm_score"] = np.nan
    pairs["lfm_rank_pct"] = np.nan
    return pairs, bought


def with_lfm(pairs: pd.DataFrame, scores: np.ndarray) -> pd.DataFrame:
    """``pairs`` with the LightFM score and its within-member rank filled in."""
    out = pairs.copy()
    out["lfm_score"] = scores
    out["lfm_rank_pct"] = _rank_pct(out, "lfm_score")
    return out


def with_labels(pairs: pd.DataFrame, bought: pd.DataFrame, column: str) -> pd.DataFrame:
    """``pairs`` with ``label`` = 1 where ``(member_idx, column)`` is in ``bought`` (the label week)."""
    keys = pd.MultiIndex.from_frame(pairs[[MEMBER_IDX, column]])
    hits = pd.MultiIndex.from_frame(bought[[MEMBER_IDX, column]])
    out = pairs.copy()
    out[LABEL] = keys.isin(hits).astype(np.int8)
    return out
