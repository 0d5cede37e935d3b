"""Turning scored pairs into the artifact's ranked lists, and the cold-start lists for new members."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.data.schema import CATEGORY, ITEM_ID, WEEK
from engine.train.config import TrainConfig
from engine.train.history import ITEM_IDX, MEMBER_IDX, History
from engine.train.pairs import CategoryStats


def top_k_per_member(pairs: pd.DataFrame, by: str, k: int) -> pd.DataFrame:
    """The ``k`` best rows per member by ``by`` (ties: lower index first), with ``rank`` 1..k."""
    ordered = pairs.sort_values([MEMBER_IDX, by], ascending=[True, False], kind="stable")
    top = ordered.groupby(MEMBER_IDX, sort=False).head(k).copy()
    top["rank"] = top.groupby(MEMBER_IDX, sort=False).cumcount().to_numpy(dtype=np.int64) + 1
    return top.reset_index(drop=True)


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
