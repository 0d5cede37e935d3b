"""LightFM fits and candidate features at each label week of the ranker, then at the challenge week.

The ranker learns from label weeks before the challenge week: for a label week ``w`` the features use
weeks ``< w`` only and the label is "bought in week ``w``". The same code then builds the features at
the challenge week itself. LightFM is fitted at the oldest cutoff and continued (warm start) with a few
epochs at each later one, so every cutoff's scores come from a model that saw only weeks before it.

Stretch pairs are dense, so they are built and LightFM-scored ``member_block`` members at a time by
:meth:`CutoffBuilder.stretch_blocks`, for label weeks and the challenge week alike. A label week keeps
the pairs of at most ``ranker_max_members`` members (a seeded sample) as training data; the caller
scores each challenge-week block and keeps only what the artifact needs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm import tqdm

from engine.data.schema import SALES_VALUE, TIERS, WEEK, Dataset
from engine.data.tiers import TiersConfig, tier_of_spend
from engine.train.categories import CategoryStats, category_stats
from engine.train.config import TrainConfig
from engine.train.features import category_features, interactions, item_features, member_features
from engine.train.groups import habitual_lightfm
from engine.train.history import BASKETS, CATEGORY_IDX, ITEM_IDX, MEMBER_IDX, History, sample_members
from engine.train.model import LightFMModel
from engine.train.pairs import habitual_pairs, with_labels, with_lfm
from engine.train.side import CutoffSide, SideTables, load_signals
from engine.train.stretch import StretchInputs, concat_blocks, member_blocks, stretch_block, stretch_inputs


@dataclass(frozen=True)
class CutoffFrames:
    """Labelled candidate pairs with features at one label week: the ranker's training data."""

    week: int
    habitual: pd.DataFrame
    stretch: pd.DataFrame
    #: Members that shopped in ``week`` among those whose pairs were kept (the ones a backtest would score).
    shoppers: np.ndarray


@dataclass(frozen=True)
class ChallengeWeek:
    """The challenge week's habitual pairs, and the inputs its stretch pairs are built from block by block."""

    week: int
    habitual: pd.DataFrame
    stretch: StretchInputs

    @property
    def category_stats(self) -> CategoryStats:
        """Category statistics at the challenge week."""
        return self.stretch.stats


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
    side
        The side tables indexed by ``history``; by default those of the data's source as ``[signals]``
        says (:func:`~engine.train.side.load_signals`).
    """

    def __init__(
        self,
        dataset: Dataset,
        history: History,
        config: TrainConfig,
        tiers: TiersConfig,
        side: SideTables | None = None,
    ) -> None:
        self.history = history
        self.config = config
        self.tiers = tiers
        if side is None:
            side = SideTables.build(load_signals(dataset.source, config.signals, dataset.promotions), history)
        self.side = side
        self._side_at: CutoffSide | None = None
        self.item_model = LightFMModel(config.lightfm)
        self.category_model = LightFMModel(config.category_lightfm)
        self._item_features = item_features(dataset.catalog, history.items)
        self._category_features = category_features(dataset.catalog, history.categories)

    def _cut(self, week: int) -> CutoffSide:
        # Habitual and stretch pairs of a week read the same side features: cut them once per week.
        if self._side_at is None or self._side_at.week != week:
            self._side_at = self.side.at(week, self.config.features)
        return self._side_at

    def _fit_models(self, week: int) -> None:
        first = not self.category_model.is_fitted
        h = self.history
        n_members = len(h.members)
        dept = h.department_spend(week)
        demo = self.side.demographics
        with_demo = self.config.signals.lightfm_demographics and sum(demo.n_levels) > 0
        users = member_features(
            _tier_idx(h, week, self.tiers),
            dept[MEMBER_IDX].to_numpy(),
            dept["department_idx"].to_numpy(),
            dept[SALES_VALUE].to_numpy(dtype=np.float64),
            len(h.departments),
            demo.one_hot() if with_demo else None,
        )
        if habitual_lightfm(self.config.signals):
            miw = h.member_item(week)
            items, item_weights = interactions(
                miw[MEMBER_IDX].to_numpy(),
                miw[ITEM_IDX].to_numpy(),
                miw[BASKETS].to_numpy(),
                (n_members, len(h.items)),
            )
            item_epochs = self.config.lightfm.warm_start_epochs if self.item_model.is_fitted else None
            self.item_model.fit(items, item_weights, users, self._item_features, epochs=item_epochs)
        mcw = h.member_categories(week)
        cats, cat_weights = interactions(
            mcw[MEMBER_IDX].to_numpy(),
            mcw[CATEGORY_IDX].to_numpy(),
            np.ones(len(mcw)),
            (n_members, len(h.categories)),
        )
        cat_epochs = None if first else self.config.category_lightfm.warm_start_epochs
        self.category_model.fit(cats, cat_weights, users, self._category_features, epochs=cat_epochs)

    def _habitual(self, week: int) -> pd.DataFrame:
        h, cfg = self.history, self.config
        hab = habitual_pairs(h, week, cfg.features, cfg.candidates, self._cut(week))
        if not self.item_model.is_fitted:  # [signals] lightfm_habitual off: lfm_* stay NaN, never read
            return hab
        scores = self.item_model.score_pairs(hab[MEMBER_IDX].to_numpy(), hab[ITEM_IDX].to_numpy())
        return with_lfm(hab, scores)

    def _stretch_inputs(self, week: int) -> StretchInputs:
        features = self.config.features
        stats = category_stats(self.history, week, features, self.config.habit)
        return stretch_inputs(self.history, week, features, stats, self._cut(week))

    def stretch_blocks(self, inputs: StretchInputs, members: np.ndarray) -> Iterator[pd.DataFrame]:
        """Stretch pairs of ``members`` (sorted, from ``inputs.members``) with LightFM scores, block by block.

        The one per-block step of label weeks and the challenge week. Scores come from the category
        model as last fitted, so ``inputs`` must be those of the cutoff the models were fitted through.
        """
        for block in member_blocks(members, self.config.features.member_block):
            pairs = stretch_block(inputs, block)
            scores = self.category_model.score_pairs(
                pairs[MEMBER_IDX].to_numpy(), pairs[CATEGORY_IDX].to_numpy()
            )
            yield with_lfm(pairs, scores)

    def frames(self, label_weeks: list[int]) -> dict[int, CutoffFrames]:
        """Fit through ``label_weeks`` (ascending) and return each one's labelled training pairs.

        A week keeps the pairs of at most ``ranker_max_members`` members active before it: a sample
        seeded with ``[ranker.random_state, week]``, the same for habitual and stretch pairs.
        """
        out: dict[int, CutoffFrames] = {}
        h, cfg = self.history, self.config
        steps = tqdm(label_weeks, desc="label weeks", unit="week", disable=not cfg.progress, leave=False)
        for week in steps:
            self._fit_models(week)
            inputs = self._stretch_inputs(week)
            members = sample_members(
                inputs.members, cfg.ranker.ranker_max_members, [cfg.ranker.random_state, week]
            )
            sampled = len(members) < len(inputs.members)
            hab = self._habitual(week)
            if sampled:
                hab = hab[hab[MEMBER_IDX].isin(members)].reset_index(drop=True)
            bought_items, bought_cats = h.bought_in_week(week)
            hab = with_labels(hab, bought_items, ITEM_IDX)
            st = concat_blocks(
                with_labels(block, bought_cats, CATEGORY_IDX)
                for block in self.stretch_blocks(inputs, members)
            )
            mw = h.member_week
            seen = mw.loc[mw[WEEK].to_numpy() == week, MEMBER_IDX].to_numpy()
            # In scope as in the backtest: shopped in the label week and active before it (and kept).
            shoppers = np.intersect1d(seen, h.member_weeks(week)[MEMBER_IDX].to_numpy())
            if sampled:
                shoppers = shoppers[np.isin(shoppers, members)]
            out[week] = CutoffFrames(week, hab, st, shoppers)
        return out

    def challenge(self, week: int) -> ChallengeWeek:
        """Fit through the challenge ``week`` (after every label week) and build its habitual pairs."""
        self._fit_models(week)
        return ChallengeWeek(week, self._habitual(week), self._stretch_inputs(week))
