"""Habitual candidate pairs and their features at one cutoff week, and what both kinds of pairs share.

Habitual pairs are (member, product) with at least ``min_baskets_habitual`` baskets before the cutoff
(stretch pairs, a member's never-bought categories, are built in :mod:`engine.train.stretch`). Every
feature is computed from :class:`~engine.train.history.History` rows with ``week < cutoff`` only;
LightFM scores (:func:`with_lfm`) come from a model fitted on the same rows, labels (:func:`with_labels`)
from the label week.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.data.schema import WEEK
from engine.train.config import CandidateParams, FeatureParams
from engine.train.history import BASKETS, ITEM_IDX, MEMBER_IDX, History
from engine.train.side import CutoffSide, no_side

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

#: Repurchase-cycle columns: the item's typical gap between purchase weeks over its repeat buyers, the
#: member's time since the last purchase against their own gap shrunk towards it, and how regular the
#: member's gaps are (std / mean; 1, the spread of a memoryless buyer, with fewer than two gaps).
REPURCHASE_FEATURES: tuple[str, ...] = ("item_gap", "due_ratio", "gap_cv")


def _rank_pct(frame: pd.DataFrame, column: str) -> np.ndarray:
    # Rank of a pair's LightFM score among the member's own candidates: WARP scores are only comparable
    # within a member, so the ranker gets this as well as the raw value.
    return frame.groupby(MEMBER_IDX, sort=False)[column].rank(pct=True, ascending=False).to_numpy()


def habitual_pairs(
    history: History,
    week: int,
    features: FeatureParams,
    candidates: CandidateParams,
    side: CutoffSide | None = None,
) -> pd.DataFrame:
    """Habitual candidate pairs at cutoff ``week`` with their history features (LightFM columns empty).

    ``side`` adds the side features at ``week`` (none: every side feature "unknown" or 0).

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
    buyers = (
        pairs[[ITEM_IDX]]
        .assign(repeat=(pairs["n_weeks"].to_numpy() >= 2).astype(np.int64))
        .groupby(ITEM_IDX, sort=False)
        .agg(buyers=("repeat", "size"), repeaters=("repeat", "sum"))
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
    pairs = _with_repurchase(pairs, frame, features.repurchase_prior_gaps)
    pairs = (side if side is not None else no_side(history, week, features)).habitual(pairs)
    pairs["lfm_score"] = np.nan
    pairs["lfm_rank_pct"] = np.nan
    return pairs.drop(columns=["first_week"])


def _gap_spread(frame: pd.DataFrame) -> pd.Series:
    """Per (member, item): std / mean of the gaps between its purchase weeks (NaN with < 2 gaps)."""
    rows = frame[[MEMBER_IDX, ITEM_IDX, WEEK]].sort_values([MEMBER_IDX, ITEM_IDX, WEEK], kind="stable")
    m, i, w = (rows[c].to_numpy() for c in (MEMBER_IDX, ITEM_IDX, WEEK))
    same = np.r_[False, (m[1:] == m[:-1]) & (i[1:] == i[:-1])]
    gaps = pd.DataFrame({MEMBER_IDX: m[same], ITEM_IDX: i[same], "gap": np.diff(w, prepend=w[:1])[same]})
    g = gaps.groupby([MEMBER_IDX, ITEM_IDX], sort=False)["gap"].agg(["mean", "std", "size"])
    return (g["std"] / g["mean"]).where(g["size"] >= 2)


def _with_repurchase(pairs: pd.DataFrame, frame: pd.DataFrame, prior_gaps: float) -> pd.DataFrame:
    """``pairs`` with :data:`REPURCHASE_FEATURES` (from the member x item x week rows in ``frame``).

    A member's own mean gap rests on few purchases, so it is shrunk towards the item's typical gap as if
    ``prior_gaps`` gaps of that length had been seen: ``due_ratio`` above 1 says the last one is likely
    used up (a replenishment reminder is welcome), far below 1 that the member still has it.
    """
    repeat = pairs["n_weeks"].to_numpy() >= 2
    gap = pairs.loc[repeat].groupby(ITEM_IDX, sort=False)["mean_gap"].median()
    fallback = float(pairs.loc[repeat, "mean_gap"].median()) if repeat.any() else 1.0
    item_gap = gap.reindex(pairs[ITEM_IDX].to_numpy()).fillna(fallback).to_numpy(dtype=np.float64)
    n_gaps = (pairs["n_weeks"].to_numpy() - 1).astype(np.float64)
    shrunk = (n_gaps * pairs["mean_gap"].to_numpy() + prior_gaps * item_gap) / (n_gaps + prior_gaps)
    keys = pd.MultiIndex.from_frame(pairs[[MEMBER_IDX, ITEM_IDX]])
    spread = _gap_spread(frame).reindex(keys).fillna(1.0).to_numpy(dtype=np.float64)
    return pairs.assign(
        item_gap=item_gap,
        due_ratio=pairs["weeks_since_last"].to_numpy() / np.maximum(shrunk, 1.0),
        gap_cv=spread,
    )


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
