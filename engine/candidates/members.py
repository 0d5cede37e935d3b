"""Iterating the candidate artifact member by member: what the rules and the challenge assembly work on.

The artifact (:mod:`engine.artifact`) stores candidates as long tables; rules and serving want one
record per member. :func:`iter_member_candidates` groups the tables once with numpy (no per-member
pandas filtering, so it stays fast for millions of members); :func:`cold_start_candidates` answers for a
member the model has not seen.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd

from engine.artifact import CandidateArtifact
from engine.candidates.records import (
    HabitualCandidate,
    Id,
    MemberCandidates,
    MemberProfile,
    StretchCandidate,
    TierDrop,
)
from engine.data.schema import CATEGORY, ITEM_ID, MARGIN_RATE, MEMBER_ID, PRICE, PROFILE_COLUMNS, TIER, TIERS
from engine.errors import ArtifactError
from engine.loyalty.table import split_segments

#: Tier given to a member the artifact does not know (cold start): the entry tier.
DEFAULT_TIER = TIERS[0]


def _py(value: Any) -> Any:
    """A numpy scalar as the plain Python value (so ids stay ``int`` / ``str`` and JSON-serialisable)."""
    return value.item() if isinstance(value, np.generic) else value


def _group_bounds(index: pd.Index, keys: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row order grouping ``keys`` by their position in ``index``, with each position's start/end."""
    codes = index.get_indexer(keys)
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    positions = np.arange(len(index))
    starts = np.searchsorted(sorted_codes, positions, side="left")
    ends = np.searchsorted(sorted_codes, positions, side="right")
    return order, starts, ends


def _drops(members: pd.DataFrame) -> list[TierDrop | None]:
    """Each member's tier drop from the members table's win-back columns (checked on reading)."""
    if "previous_tier" not in members.columns or "dropped_week" not in members.columns:
        return [None] * len(members)
    return [
        None if not isinstance(p, str) or pd.isna(w) else TierDrop(p, int(w))
        for p, w in zip(members["previous_tier"].tolist(), members["dropped_week"].tolist(), strict=True)
    ]


def member_index(artifact: CandidateArtifact) -> tuple[pd.Index, list[str]]:
    """Every member of the artifact (members table first, then any only seen in candidates) and tiers."""
    members = artifact.members
    ids = pd.Index(members[MEMBER_ID].tolist())
    if ids.has_duplicates:
        dup = ids[ids.duplicated()].unique()[:5].tolist()
        raise ArtifactError(f"members table: duplicate member_id values, e.g. {dup}")
    tiers = members[TIER].astype(object).where(members[TIER].notna(), DEFAULT_TIER).astype(str).tolist()
    extra: list[Any] = []
    for frame in (artifact.habitual, artifact.stretch):
        unknown = pd.Index(frame[MEMBER_ID].unique().tolist()).difference(ids, sort=False)
        extra.extend(unknown.tolist())
    if extra:
        extra = list(dict.fromkeys(extra))
        ids = ids.append(pd.Index(extra))
        tiers = tiers + [DEFAULT_TIER] * len(extra)
    return ids, tiers


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many long-lived, acyclic objects.

    Each collection rescans every live container, so building millions of candidate tuples with it on
    grows superlinearly (a 50,000-member artifact took 30 s to group instead of a few). The previous
    state is restored on exit.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def iter_member_candidates(artifact: CandidateArtifact) -> Iterator[MemberCandidates]:
    """Yield one :class:`MemberCandidates` per member of ``artifact``, candidates in rank order.

    Members come in the order of the artifact's ``members`` table; members that appear only in the
    candidate tables follow with the entry tier. The tables are grouped once with numpy and every
    candidate is built up front (collector paused), so each member costs a few slices.
    """
    with paused_gc():
        grouped = _grouped(artifact)
    members, tiers, h_all, s_all, b_cat, bounds = grouped
    drops = _drops(artifact.members)
    drops += [None] * (len(members) - len(drops))  # members only seen in the candidate tables
    loyalty = loyalty_of(artifact)
    profiles = member_profiles(artifact.members, len(members))
    for member_id, tier, drop, profile, (hs, he, ss, se, bs, be) in zip(
        members, tiers, drops, profiles, bounds, strict=True
    ):
        stage, segments = loyalty.get(member_id, (None, ()))
        yield MemberCandidates(
            member_id=member_id,
            tier=tier,
            habitual=tuple(h_all[hs:he]),
            stretch=tuple(s_all[ss:se]),
            bought_categories=frozenset(b_cat[bs:be]),
            drop=drop,
            stage=stage,
            segments=segments,
            profile=profile,
        )


def loyalty_of(artifact: CandidateArtifact) -> dict[Any, tuple[str | None, tuple[str, ...]]]:
    """Member id -> (stage, segments) from the artifact's ``member_loyalty`` table (empty: none)."""
    table = artifact.member_loyalty
    return {
        _py(m): (str(g), split_segments(None if pd.isna(sg) else str(sg)))
        for m, g, sg in zip(
            table[MEMBER_ID].tolist(), table["stage"].tolist(), table["segments"].tolist(), strict=True
        )
    }


def member_profiles(members: pd.DataFrame, n: int) -> list[MemberProfile | None]:
    """The profile of each row of ``members`` (from its optional profile columns), padded with ``None``
    to ``n`` (the members seen only in the candidate tables)."""
    given = [c for c in PROFILE_COLUMNS if c in members.columns]
    if not given:
        return [None] * n
    columns = [
        members[c].astype(object).where(members[c].notna(), None).tolist()
        if c in given
        else [None] * len(members)
        for c in PROFILE_COLUMNS
    ]
    rows: list[MemberProfile | None] = [
        None if all(v is None for v in row) else MemberProfile(*(None if v is None else str(v) for v in row))
        for row in zip(*columns, strict=True)
    ]
    return rows + [None] * (n - len(rows))


_Grouped = tuple[
    list[Any], list[str], list[HabitualCandidate], list[StretchCandidate], list[str], list[tuple[int, ...]]
]


def _grouped(artifact: CandidateArtifact) -> _Grouped:
    """Members, tiers, all candidates in member-then-rank order, and each member's slice bounds."""
    index, tiers = member_index(artifact)
    habitual = artifact.habitual.sort_values("rank", kind="stable")
    stretch = artifact.stretch.sort_values("rank", kind="stable")
    h_order, h_start, h_end = _group_bounds(index, habitual[MEMBER_ID])
    s_order, s_start, s_end = _group_bounds(index, stretch[MEMBER_ID])
    b_order, b_start, b_end = _group_bounds(index, artifact.member_categories[MEMBER_ID])

    h_item = habitual[ITEM_ID].to_numpy(dtype=object)[h_order].tolist()
    h_score = habitual["score"].to_numpy(dtype=float)[h_order].tolist()
    h_nb = habitual["n_baskets"].to_numpy(dtype=float)[h_order]
    h_nb_list = np.nan_to_num(h_nb, nan=0.0).astype(np.int64).tolist()
    h_lw = habitual["last_week"].to_numpy(dtype=float)[h_order]
    h_lw_list = [None if math.isnan(w) else int(w) for w in h_lw.tolist()]
    s_cat = stretch[CATEGORY].astype(str).to_numpy(dtype=object)[s_order].tolist()
    s_score = stretch["score"].to_numpy(dtype=float)[s_order].tolist()
    s_item = stretch["suggested_item_id"].to_numpy(dtype=object)[s_order].tolist()
    s_em = stretch["expected_margin"].to_numpy(dtype=float)[s_order].tolist()
    b_cat = artifact.member_categories[CATEGORY].astype(str).to_numpy(dtype=object)[b_order].tolist()

    members = [_py(m) for m in index.tolist()]
    # build every candidate once in C-level loops; each member then takes a slice
    h_all = list(map(HabitualCandidate, map(_py, h_item), h_score, h_nb_list, h_lw_list))
    s_all = list(map(StretchCandidate, s_cat, s_score, map(_py, s_item), s_em))
    bounds = list(
        zip(
            h_start.tolist(),
            h_end.tolist(),
            s_start.tolist(),
            s_end.tolist(),
            b_start.tolist(),
            b_end.tolist(),
            strict=True,
        )
    )
    return members, tiers, h_all, s_all, b_cat, bounds


def cold_start_candidates(
    artifact: CandidateArtifact, member_id: Id, *, tier: str | None = None
) -> MemberCandidates:
    """Candidates for a member the model has not seen: the popular items and categories.

    Habitual picks come from ``popular_items`` (``n_baskets`` 0, no ``last_week``: the member has no
    history), stretch picks from ``popular_categories`` with the expected margin of the suggested item.
    ``tier`` defaults to the member's tier in the artifact, else the entry tier.
    """
    if tier is None:
        members = artifact.members
        match = members.loc[members[MEMBER_ID] == member_id, TIER]
        tier = str(match.iloc[0]) if len(match) and pd.notna(match.iloc[0]) else DEFAULT_TIER
    popular = artifact.popular_items.sort_values("rank", kind="stable")
    habitual = tuple(
        HabitualCandidate(_py(i), float(s), 0, None)
        for i, s in zip(popular[ITEM_ID].tolist(), popular["score"].tolist(), strict=True)
    )
    items = artifact.items.set_index(ITEM_ID)
    unit_margin = (
        pd.to_numeric(items[PRICE], errors="coerce") * pd.to_numeric(items[MARGIN_RATE], errors="coerce")
    ).to_dict()
    cats = artifact.popular_categories.sort_values("rank", kind="stable")
    stretch = tuple(
        StretchCandidate(str(c), float(s), _py(i), float(s) * float(unit_margin.get(_py(i), math.nan)))
        for c, s, i in zip(
            cats[CATEGORY].tolist(), cats["score"].tolist(), cats["suggested_item_id"].tolist(), strict=True
        )
    )
    stage, segments = loyalty_of(artifact).get(member_id, (None, ()))
    return MemberCandidates(
        member_id=member_id,
        tier=tier,
        habitual=habitual,
        stretch=stretch,
        bought_categories=frozenset(),
        stage=stage,
        segments=segments,
    )
