"""LightFM fits and candidate features at each cutoff the ranker needs, oldest first.

The ranker learns from label weeks before the challenge week: for a label week ``w`` the features use
weeks ``< w`` only and the label is "bought in week ``w``". The same code then builds the features at
the challenge week itself. LightFM is fitted at the oldest cutoff and continued (warm start) with a few
epochs at each later one, so every cutoff's scores come from a model that saw only weeks before it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm import tqdm

from engine.data.schema import SALES_VALUE, TIERS, WEEK, Dataset
from engine.data.tiers import TiersConfig, tier_of_spend
from engine.train.config import TrainConfig
from engine.train.features import category_features, interactions, item_features, member_features
from engine.train.history import BASKETS, CATEGORY_IDX, ITEM_IDX, MEMBER_IDX, History
from engine.train.model import LightFMModel
from engine.train.pairs import (
    CategoryStats,
    category_stats,
    habitual_pairs,
    stretch_pairs,
    with_labels,
    with_lfm,
)


@dataclass(frozen=True)
class CutoffFrames:
    """Candidate pairs with features at one cutoff (and labels when the cutoff is a label week)."""

    week: int
    habitual: pd.DataFrame
    stretch: pd.DataFrame
    category_stats: CategoryStats
    #: Members that shopped in ``week`` (the ones a backtest would score); empty at the challenge week.
    shoppers: np.ndarray


def _tier_idx(history: History, week: int, tiers: TiersConfig) -> np.ndarray:
    mw = history.member_weeks(week)
    window = mw[mw[WEEK].to_numpy() >= week - tiers.window_weeks]
    spend = (
        window.groupby(MEMBER_IDX)[SALES_VALUE].sum().reindex(np.arange(len(history.members)), fill_value=0.0)
    )
    names = tier_of_spend(spend, tiers).to_numpy()
    return np.asarray(pd.Index(TIERS).get_indexer(names), dtype=np.int64)


class CutoffBuilder:
    """Fits the two LightFM models through successive cutoffs and builds each cutoff's pairs.

    Parameters
    ----------
    dataset
        Data already cut at the challenge week (``dataset.before_week``).
    history
        :class:`History` of the same transactions.
    config, tiers
        Training config and the tier thresholds.
    """

    def __init__(self, dataset: Dataset, history: History, config: TrainConfig, tiers: TiersConfig) -> None:
        self.history = history
        self.config = config
        self.tiers = tiers
        self.item_model = LightFMModel(config.lightfm)
        self.category_model = LightFMModel(config.category_lightfm)
        self._item_features = item_features(dataset.catalog, history.items)
        self._category_features = category_features(dataset.catalog, history.categories)

    def _fit_models(self, week: int, first: bool) -> None:
        h = self.history
        n_members = len(h.members)
        dept = h.department_spend(week)
        users = member_features(
            _tier_idx(h, week, self.tiers),
            dept[MEMBER_IDX].to_numpy(),
            dept["department_idx"].to_numpy(),
            dept[SALES_VALUE].to_numpy(dtype=np.float64),
            len(h.departments),
        )
        miw = h.member_item(week)
        items, item_weights = interactions(
            miw[MEMBER_IDX].to_numpy(),
            miw[ITEM_IDX].to_numpy(),
            miw[BASKETS].to_numpy(),
            (n_members, len(h.items)),
        )
        mcw = h.member_categories(week)
        cats, cat_weights = interactions(
            mcw[MEMBER_IDX].to_numpy(),
            mcw[CATEGORY_IDX].to_numpy(),
            np.ones(len(mcw)),
            (n_members, len(h.categories)),
        )
        item_epochs = None if first else self.config.lightfm.warm_start_epochs
        cat_epochs = None if first else self.config.category_lightfm.warm_start_epochs
        self.item_model.fit(items, item_weights, users, self._item_features, epochs=item_epochs)
        self.category_model.fit(cats, cat_weights, users, self._category_features, epochs=cat_epochs)

    def frames(self, weeks: list[int], label_weeks: set[int]) -> dict[int, CutoffFrames]:
        """Fit through ``weeks`` (ascending) and return each cutoff's frames; labels for ``label_weeks``."""
        out: dict[int, CutoffFrames] = {}
        h, cfg = self.history, self.config
        steps = tqdm(sorted(weeks), desc="cutoffs", unit="week", disable=not cfg.progress, leave=False)
        for n, week in enumerate(steps):
            self._fit_models(week, first=n == 0)
            hab = habitual_pairs(h, week, cfg.features, cfg.candidates)
            hab = with_lfm(
                hab, self.item_model.score_pairs(hab[MEMBER_IDX].to_numpy(), hab[ITEM_IDX].to_numpy())
            )
            stats = category_stats(h, week, cfg.features)
            st, _ = stretch_pairs(h, week, cfg.features, stats)
            st = with_lfm(
                st, self.category_model.score_pairs(st[MEMBER_IDX].to_numpy(), st[CATEGORY_IDX].to_numpy())
            )
            shoppers = np.zeros(0, dtype=np.int64)
            if week in label_weeks:
                bought_items, bought_cats = h.bought_in_week(week)
                hab = with_labels(hab, bought_items, ITEM_IDX)
                st = with_labels(st, bought_cats, CATEGORY_IDX)
                mw = h.member_week
                seen = mw.loc[mw[WEEK].to_numpy() == week, MEMBER_IDX].to_numpy()
                # In scope as in the backtest: shopped in the label week and active before it.
                shoppers = np.intersect1d(seen, h.member_weeks(week)[MEMBER_IDX].to_numpy())
            out[week] = CutoffFrames(week, hab, st, stats, shoppers)
        return out
