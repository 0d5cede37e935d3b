"""Turning scored pairs into the artifact's ranked lists, and the cold-start lists for new members."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.data.schema import CATEGORY, ITEM_ID, WEEK
from engine.train.categories import CategoryStats
from engine.train.config import CandidateParams, TrainConfig
from engine.train.history import CATEGORY_IDX, ITEM_IDX, MEMBER_IDX, History


def top_k_per_member(pairs: pd.DataFrame, by: str, k: int) -> pd.DataFrame:
    """The ``k`` best rows per member by ``by`` (ties: lower index first), with ``rank`` 1..k."""
    ordered = pairs.sort_values([MEMBER_IDX, by], ascending=[True, False], kind="stable")
    top = ordered.groupby(MEMBER_IDX, sort=False).head(k).copy()
    top["rank"] = top.groupby(MEMBER_IDX, sort=False).cumcount().to_numpy(dtype=np.int64) + 1
    return top.reset_index(drop=True)


def likely_stretch(stretch: pd.DataFrame, min_relative_score: float) -> pd.DataFrame:
    """Stretch pairs whose ``score`` is at least ``min_relative_score`` x the member's best score.

    Every member keeps their most likely category; 0 keeps every pair.
    """
    if min_relative_score <= 0 or stretch.empty:
        return stretch
    best = stretch.groupby(MEMBER_IDX, sort=False)["score"].transform("max").to_numpy()
    return stretch[stretch["score"].to_numpy() >= min_relative_score * best]


#: What the artifact needs of a member's ranked stretch categories.
STRETCH_KEPT: tuple[str, ...] = (MEMBER_IDX, CATEGORY_IDX, "suggested_item_idx", "score", "expected_margin")


def top_stretch(scored: pd.DataFrame, candidates: CandidateParams) -> pd.DataFrame:
    """Each member's ``k_stretch`` best stretch pairs, those the artifact keeps, with ``rank`` 1..k.

    Pairs below the ``stretch_min_relative_score`` floor (:func:`likely_stretch`) are dropped, then the
    rest ranked by ``score * unit_margin ** stretch_margin_exponent * adopter_spend **
    stretch_spend_exponent``. Per member, so a block of members
    at a time gives the same rows as all members at once.

    Returns
    -------
    pandas.DataFrame
        :data:`STRETCH_KEPT` and ``rank``, ordered by member and rank.
    """
    stretch = scored.assign(expected_margin=scored["score"] * scored["unit_margin"])
    stretch = likely_stretch(stretch, candidates.stretch_min_relative_score)
    key = (
        stretch["score"]
        * np.power(stretch["unit_margin"].clip(lower=0), candidates.stretch_margin_exponent)
        * np.power(stretch["adopter_spend"].clip(lower=0), candidates.stretch_spend_exponent)
    )
    top = top_k_per_member(stretch.assign(rank_key=key), "rank_key", candidates.k_stretch)
    return top.loc[:, [*STRETCH_KEPT, "rank"]]


def cold_start_tables(
    history: History, stats: CategoryStats, as_of_week: int, config: TrainConfig
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Popular items and categories for members the model has no history for.

    Items score by the mean weekly share of shoppers buying them over the last ``popularity_weeks``;
    categories by their weekly adoption rate among non-buyers. Items that may not carry an offer and
    categories without an eligible product are left out.
    """
    start = as_of_week - config.features.popularity_weeks
    miw = history.member_item(as_of_week)
    recent = miw[miw[WEEK].to_numpy() >= start]
    mw = history.member_weeks(as_of_week)
    shoppers = mw[mw[WEEK].to_numpy() >= start].groupby(WEEK)[MEMBER_IDX].nunique()
    buyers = recent.groupby([ITEM_IDX, WEEK], sort=False)[MEMBER_IDX].nunique().reset_index()
    buyers["share"] = buyers[MEMBER_IDX] / buyers[WEEK].map(shoppers).to_numpy()
    n_weeks = max(len(shoppers), 1)
    score = buyers.groupby(ITEM_IDX)["share"].sum() / n_weeks
    score = score[~history.excluded[score.index.to_numpy()]]
    score = score.sort_values(ascending=False, kind="stable").head(config.candidates.n_popular_items)
    popular_items = pd.DataFrame(
        {
            ITEM_ID: history.items.to_id(score.index.to_numpy()),
            "score": score.to_numpy(),
            "rank": np.arange(1, len(score) + 1, dtype=np.int64),
        }
    )
    ok = np.flatnonzero(stats.suggested_item_idx >= 0)
    order = ok[np.argsort(-stats.adoption_rate[ok], kind="stable")][: config.candidates.n_popular_categories]
    popular_categories = pd.DataFrame(
        {
            CATEGORY: history.categories.to_id(order),
            "score": stats.adoption_rate[order],
            "suggested_item_id": history.items.to_id(stats.suggested_item_idx[order]),
            "rank": np.arange(1, len(order) + 1, dtype=np.int64),
        }
    )
    return popular_items, popular_categories
