"""Features from the optional side tables: demographics, the challenge week's promotions, discounts, coupons.

:class:`SideTables` indexes :class:`~engine.data.signals.Signals` by the training's LightFM indices once;
:meth:`SideTables.at` cuts them at a cutoff week into a :class:`CutoffSide`, which adds its columns to
habitual and stretch pairs. What a cutoff may read:

* discounts and coupon redemptions: weeks ``< cutoff`` only, like every history feature;
* promotions: the cutoff week itself (the challenge week's promotion calendar is planned, so a retailer
  knows it before the week starts) and the weeks before it, never a later week;
* demographics: a member's survey answers, which do not change with the week.

A missing table gives "unknown" (demographics: level -1 and ``demo_known`` 0; the LightFM member
features get an explicit ``unknown`` level) or 0 (promotions, discounts, coupons), never an imputed value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import scipy.sparse as sp

from engine.data.config import load_data_config
from engine.data.schema import ITEM_ID, MEMBER_ID, SALES_VALUE, WEEK
from engine.data.signals import (
    DEMOGRAPHIC_COLUMNS,
    DISCOUNT,
    DISPLAY_SHARE,
    MAILER_SHARE,
    NO_SIGNALS,
    REDEMPTIONS,
    Signals,
    calendar_shares,
    read_complete_journey_signals,
)
from engine.train.config import FeatureParams, SignalParams
from engine.train.history import CATEGORY_IDX, ITEM_IDX, MEMBER_IDX, History

#: Member columns of the demographics group (ordinal level, -1 unknown) and whether the member has any.
DEMO_FEATURES: tuple[str, ...] = (*DEMOGRAPHIC_COLUMNS, "demo_known")
UNKNOWN_LEVEL = -1
#: ``Dataset.source`` of the Complete Journey loader.
COMPLETE_JOURNEY = "completejourney"


def _level_order(levels: list[str]) -> list[str]:
    """Levels such as ``Under 15K``, ``15-24K``, ``250K+`` or ``3+`` in the order of their first number."""

    def key(level: str) -> tuple[float, str]:
        number = re.search(r"\d+(\.\d+)?", level)
        value = float(number.group()) if number else float("inf")
        return (value - 0.5 if level.lower().startswith("under") else value, level)

    return sorted(levels, key=key)


@dataclass(frozen=True)
class Demographics:
    """Each member's level per demographic attribute: ``codes[m, a]`` in ``0..n_levels[a]-1``, -1 unknown."""

    codes: np.ndarray
    n_levels: tuple[int, ...]

    @classmethod
    def of(cls, frame: pd.DataFrame | None, history: History) -> Demographics:
        """Levels of the members in ``history`` (members absent from ``frame`` or blank answers: unknown)."""
        n = len(history.members)
        codes = np.full((n, len(DEMOGRAPHIC_COLUMNS)), UNKNOWN_LEVEL, dtype=np.int64)
        if frame is None:
            return cls(codes, tuple(0 for _ in DEMOGRAPHIC_COLUMNS))
        idx = history.members.to_idx(frame[MEMBER_ID], strict=False)
        known = idx >= 0
        n_levels: list[int] = []
        for a, column in enumerate(DEMOGRAPHIC_COLUMNS):
            values = frame[column].astype("string").str.strip()
            answered = values.notna() & (values != "") & (values.str.lower() != "nan")
            levels = _level_order(sorted(set(values[answered].tolist())))
            code = pd.Index(levels).get_indexer(values.fillna(""))
            ok = known & answered.to_numpy()
            codes[idx[ok], a] = code[ok]
            n_levels.append(len(levels))
        return cls(codes, tuple(n_levels))

    @property
    def known(self) -> np.ndarray:
        """Per member: any attribute answered."""
        return np.asarray((self.codes >= 0).any(axis=1))

    def one_hot(self) -> sp.csr_matrix:
        """Members x (levels + 1 per attribute), the last column of each being ``unknown``.

        One entry per attribute, each ``1 / n_attributes``: the block weighs as much as one other block
        of LightFM's member features (identity, tier, department shares).
        """
        n = self.codes.shape[0]
        weight = np.full(n, 1.0 / max(len(self.n_levels), 1))
        blocks = []
        for a, n_levels in enumerate(self.n_levels):
            col = np.where(self.codes[:, a] >= 0, self.codes[:, a], n_levels)
            blocks.append(sp.csr_matrix((weight, (np.arange(n), col)), shape=(n, n_levels + 1)))
        return sp.hstack(blocks, format="csr", dtype=np.float32)


def _indexed(frame: pd.DataFrame | None, history: History, columns: list[str]) -> pd.DataFrame:
    """``frame`` with member and item ids turned into indices; rows of unknown members or items dropped."""
    if frame is None:
        return pd.DataFrame({c: pd.Series(dtype=np.float64) for c in columns})
    out = frame.copy()
    keep = np.ones(len(out), dtype=bool)
    if MEMBER_ID in out:
        out[MEMBER_IDX] = history.members.to_idx(out[MEMBER_ID], strict=False)
        keep &= out[MEMBER_IDX].to_numpy() >= 0
    if ITEM_ID in out:
        # Items never sold before the final cutoff have no index and no habitual or stretch pair to feed.
        out[ITEM_IDX] = history.items.to_idx(out[ITEM_ID], strict=False)
        keep &= out[ITEM_IDX].to_numpy() >= 0
    return out.loc[keep, columns].reset_index(drop=True)


@dataclass(frozen=True)
class SideTables:
    """The side tables indexed by the training's id maps, to be cut at any week by :meth:`at`."""

    history: History
    demographics: Demographics
    promotions: pd.DataFrame  # item_idx, week, display_share, mailer_share
    discounts: pd.DataFrame  # member_idx, item_idx, week, sales_value, discount
    coupons: pd.DataFrame  # member_idx, week, redemptions

    @classmethod
    def build(cls, signals: Signals, history: History) -> SideTables:
        """Index ``signals`` by ``history``'s members and items."""
        return cls(
            history,
            Demographics.of(signals.demographics, history),
            _indexed(signals.promotions, history, [ITEM_IDX, WEEK, DISPLAY_SHARE, MAILER_SHARE]),
            _indexed(signals.discounts, history, [MEMBER_IDX, ITEM_IDX, WEEK, SALES_VALUE, DISCOUNT]),
            _indexed(signals.coupons, history, [MEMBER_IDX, WEEK, REDEMPTIONS]),
        )

    def at(self, week: int, features: FeatureParams) -> CutoffSide:
        """What cutoff ``week`` may read: discounts and coupons before it, promotions up to it."""
        h = self.history
        n_members, n_items = len(h.members), len(h.items)
        promo = self.promotions
        pw = promo[WEEK].to_numpy()
        now = promo[pw == week]
        display = np.zeros(n_items)
        mailer = np.zeros(n_items)
        display[now[ITEM_IDX].to_numpy(dtype=np.int64)] = now[DISPLAY_SHARE].to_numpy()
        mailer[now[ITEM_IDX].to_numpy(dtype=np.int64)] = now[MAILER_SHARE].to_numpy()
        before = promo[(pw < week) & (pw >= week - features.popularity_weeks)]
        prior = np.zeros(n_items)
        np.add.at(
            prior,
            before[ITEM_IDX].to_numpy(dtype=np.int64),
            np.maximum(before[DISPLAY_SHARE].to_numpy(), before[MAILER_SHARE].to_numpy()),
        )
        disc = self.discounts[self.discounts[WEEK].to_numpy() < week]
        paid = np.bincount(disc[MEMBER_IDX].to_numpy(dtype=np.int64), disc[SALES_VALUE], n_members)
        saved = np.bincount(disc[MEMBER_IDX].to_numpy(dtype=np.int64), disc[DISCOUNT], n_members)
        coupons = self.coupons[self.coupons[WEEK].to_numpy() < week]
        redemptions = np.bincount(
            coupons[MEMBER_IDX].to_numpy(dtype=np.int64), coupons[REDEMPTIONS], n_members
        )
        item_disc = disc.groupby([MEMBER_IDX, ITEM_IDX], sort=False)[[SALES_VALUE, DISCOUNT]].sum()
        return CutoffSide(
            week=week,
            item_category_idx=h.item_category_idx,
            n_categories=len(h.categories),
            demographics=self.demographics,
            demo_smoothing=features.demo_smoothing,
            item_display=display,
            item_mailer=mailer,
            item_promo_prior=prior / features.popularity_weeks,
            discount_share=np.divide(saved, paid + saved, out=np.zeros(n_members), where=paid + saved > 0),
            coupon_redemptions=redemptions.astype(np.float64),
            item_discount_share=item_disc[DISCOUNT] / (item_disc[SALES_VALUE] + item_disc[DISCOUNT]),
        )


@dataclass(frozen=True)
class CutoffSide:
    """Side features at one cutoff week (built by :meth:`SideTables.at`), added to pairs by its methods."""

    week: int
    item_category_idx: np.ndarray  # category index of each item index
    n_categories: int
    demographics: Demographics
    demo_smoothing: float
    item_display: np.ndarray
    item_mailer: np.ndarray
    item_promo_prior: np.ndarray
    discount_share: np.ndarray
    coupon_redemptions: np.ndarray
    item_discount_share: pd.Series  # indexed by (member_idx, item_idx)

    def for_stretch(self) -> CutoffSide:
        """This cutoff's side features without the habitual-only per (member, item) discount table.

        What stretch blocks read: the batch sends it to every worker, so it holds nothing per pair.
        """
        return replace(self, item_discount_share=self.item_discount_share.iloc[:0])

    def _member_columns(self, pairs: pd.DataFrame) -> dict[str, np.ndarray]:
        m = pairs[MEMBER_IDX].to_numpy(dtype=np.int64)
        codes = self.demographics.codes[m]
        out = {c: codes[:, a].astype(np.float64) for a, c in enumerate(DEMOGRAPHIC_COLUMNS)}
        out["demo_known"] = self.demographics.known[m].astype(np.float64)
        out["discount_share"] = self.discount_share[m]
        out["coupon_redemptions"] = self.coupon_redemptions[m]
        return out

    def habitual(self, pairs: pd.DataFrame) -> pd.DataFrame:
        """``pairs`` (member x item) with the side columns of :data:`HABITUAL_SIDE_COLUMNS`."""
        i = pairs[ITEM_IDX].to_numpy(dtype=np.int64)
        keys = pd.MultiIndex.from_arrays([pairs[MEMBER_IDX].to_numpy(), i])
        item_disc = self.item_discount_share.reindex(keys).fillna(0.0).to_numpy(dtype=np.float64)
        promo = np.maximum(self.item_display[i], self.item_mailer[i])
        return pairs.assign(
            **self._member_columns(pairs),
            item_display=self.item_display[i],
            item_mailer=self.item_mailer[i],
            item_promo_prior=self.item_promo_prior[i],
            item_disc_share=item_disc,
            promo_x_disc=promo * item_disc,
        )

    def category_demo_lift(self, member_category: pd.DataFrame, members: np.ndarray) -> list[np.ndarray]:
        """Per attribute: levels x categories log lift of buying a category before the cutoff.

        ``member_category`` holds distinct ``member_idx, category_idx`` rows before the cutoff of
        ``members`` (the members active before it). The last level of each attribute is ``unknown``.
        """
        n_cats = self.n_categories
        m = member_category[MEMBER_IDX].to_numpy(dtype=np.int64)
        c = member_category[CATEGORY_IDX].to_numpy(dtype=np.int64)
        share = np.bincount(c, minlength=n_cats) / max(len(members), 1)
        s = self.demo_smoothing
        out: list[np.ndarray] = []
        for a, n_levels in enumerate(self.demographics.n_levels):
            level = self._levels(a, n_levels)
            in_level = np.bincount(level[members], minlength=n_levels + 1).astype(np.float64)
            buyers = np.zeros((n_levels + 1, n_cats))
            np.add.at(buyers, (level[m], c), 1.0)
            rate = (buyers + s * share[None, :]) / (in_level[:, None] + s)
            out.append(np.log(np.maximum(rate, 1e-12) / np.maximum(share, 1e-12)[None, :]))
        return out

    def _levels(self, attribute: int, n_levels: int) -> np.ndarray:
        codes = self.demographics.codes[:, attribute]
        return np.where(codes >= 0, codes, n_levels)

    def stretch(
        self, pairs: pd.DataFrame, suggested_item_idx: np.ndarray, lifts: list[np.ndarray]
    ) -> pd.DataFrame:
        """``pairs`` (member x category) with the side columns of :data:`STRETCH_SIDE_COLUMNS`.

        ``lifts`` come from :meth:`category_demo_lift` at the same cutoff.
        """
        m = pairs[MEMBER_IDX].to_numpy(dtype=np.int64)
        c = pairs[CATEGORY_IDX].to_numpy(dtype=np.int64)
        n_cats = self.n_categories
        cat_display = np.bincount(self.item_category_idx, self.item_display, minlength=n_cats)
        cat_mailer = np.bincount(self.item_category_idx, self.item_mailer, minlength=n_cats)
        item = suggested_item_idx[c]
        ok = item >= 0
        suggested = np.where(ok, np.maximum(self.item_display, self.item_mailer)[np.maximum(item, 0)], 0.0)
        lift = np.zeros(len(pairs))
        for a, matrix in enumerate(lifts):
            lift += matrix[self._levels(a, self.demographics.n_levels[a])[m], c]
        members = self._member_columns(pairs)
        return pairs.assign(
            **members,
            demo_lift=lift / max(len(lifts), 1),
            cat_display=cat_display[c],
            cat_mailer=cat_mailer[c],
            suggested_promo=suggested,
            promo_x_sensitivity=(cat_display[c] + cat_mailer[c]) * members["discount_share"],
        )


def no_side(history: History, week: int, features: FeatureParams) -> CutoffSide:
    """Side features of a source without side tables: demographics unknown, everything else 0."""
    return SideTables.build(NO_SIGNALS, history).at(week, features)


def load_signals(source: str, params: SignalParams, calendar: pd.DataFrame | None = None) -> Signals:
    """The side tables of the data ``source`` (``Dataset.source``) as ``params.source`` says.

    Complete Journey ships them; any other source has none (:data:`~engine.data.signals.NO_SIGNALS`).
    The ``promotions`` side table is the dataset's own promotion ``calendar`` (``Dataset.promotions``,
    already cut at the challenge week), so the placements are read once (:func:`calendar_shares`).
    """
    if params.source == "none" or source != COMPLETE_JOURNEY:
        return NO_SIGNALS
    side = read_complete_journey_signals(load_data_config().week_start)
    return replace(side, promotions=calendar_shares(calendar))
