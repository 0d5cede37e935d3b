"""Stretch candidate pairs: each member with every eligible category they never bought before the cutoff.

Stretch pairs are dense (about 200 per member, each with :data:`STRETCH_FEATURES`), so they are built a
block of members at a time by :func:`stretch_block`. What all blocks of a cutoff share is computed once
by :func:`stretch_inputs`: the category statistics and co-occurrence matrix (categories x categories,
over all members), member activity, the neighbour pool and each member's purchase rows, grouped by
member. A member's pairs are the same whatever block it is built in, so memory is bounded by the block
while the result is that of one block holding everyone. Every number comes from
:class:`~engine.train.history.History` rows with ``week < cutoff`` only.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from engine.data.schema import SALES_VALUE, WEEK
from engine.train.affinity import NeighbourPool, exact_matmul, neighbour_scores, pool_members
from engine.train.categories import CategoryStats
from engine.train.config import FeatureParams
from engine.train.history import CATEGORY_IDX, DEPARTMENT_IDX, MEMBER_IDX, History
from engine.train.side import CutoffSide, no_side

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

_MEMBER_COLUMNS = ("baskets_per_week", "active_share", "weeks_since_visit", "recent_baskets")


@dataclass(frozen=True)
class MemberRows:
    """Rows of a per-member table grouped by member; a member's rows keep their original order.

    Attributes
    ----------
    starts
        Member ``m``'s rows are ``starts[m - offset]:starts[m - offset + 1]`` of every column.
    columns
        The kept columns, as arrays sorted by member.
    offset
        The first member index ``starts`` covers (0, or a block's first member after :meth:`restrict`).
    """

    starts: np.ndarray
    columns: dict[str, np.ndarray]
    offset: int = 0

    @classmethod
    def of(cls, frame: pd.DataFrame, n_members: int, columns: Sequence[str]) -> MemberRows:
        """Group ``frame`` (with a ``member_idx`` column) by member, keeping ``columns``."""
        member = frame[MEMBER_IDX].to_numpy()
        order = np.argsort(member, kind="stable")
        starts = np.searchsorted(member[order], np.arange(n_members + 1))
        return cls(starts, {c: frame[c].to_numpy()[order] for c in columns})

    def take(self, members: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The rows of ``members``: each row's position in ``members``, and the columns of those rows."""
        at = members - self.offset
        first = self.starts[at]
        counts = self.starts[at + 1] - first
        local = np.repeat(np.arange(len(members)), counts)
        rows = np.arange(counts.sum()) + np.repeat(first - (np.cumsum(counts) - counts), counts)
        return local, {c: v[rows] for c, v in self.columns.items()}

    def restrict(self, members: np.ndarray) -> MemberRows:
        """Only the rows of ``members`` (sorted), covering the member indices from the first to the last.

        What a block of members carries instead of every member's rows: :meth:`take` of any of
        ``members`` gives the same rows as before.
        """
        members = np.asarray(members, dtype=np.int64)
        if not len(members):
            return MemberRows(np.zeros(1, dtype=np.int64), {c: v[:0] for c, v in self.columns.items()})
        local, cols = self.take(members)
        lo = int(members[0])
        counts = np.zeros(int(members[-1]) - lo + 2, dtype=np.int64)
        counts[members - lo + 1] = np.bincount(local, minlength=len(members))
        return MemberRows(np.cumsum(counts), cols, lo)

    def bought(self, members: np.ndarray, n_categories: int) -> np.ndarray:
        """Boolean ``len(members)`` x categories: a ``category_idx`` row of each member's exists."""
        local, cols = self.take(members)
        out = np.zeros((len(members), n_categories), dtype=bool)
        out[local, cols[CATEGORY_IDX]] = True
        return out


@dataclass(frozen=True)
class MemberParts:
    """The per-member parts of :class:`StretchInputs` for some members: what one block carries.

    Attributes
    ----------
    members
        The block's members (sorted ``member_idx``).
    member_stats, categories, departments
        As in :class:`StretchInputs`, for these members only.
    """

    members: np.ndarray
    member_stats: pd.DataFrame
    categories: MemberRows
    departments: MemberRows


@dataclass(frozen=True)
class StretchInputs:
    """What every block of stretch pairs at one cutoff shares; built once by :func:`stretch_inputs`.

    Attributes
    ----------
    members
        Sorted ``member_idx`` of the members active before the cutoff: the ones that get stretch pairs.
    stats
        Category statistics at the cutoff.
    conditional
        Float32 categories x categories: ``P(c | c')``, the share of members buying ``c'`` who bought ``c``.
    member_stats
        :meth:`History.member_stats` at the cutoff, indexed by ``member_idx``.
    categories, departments
        ``category_idx, week`` and ``department_idx, sales_value`` rows before the cutoff, by member.
    pool
        The members that neighbours are searched among.
    category_department_idx, n_departments
        Department index of each category index, and the number of departments.
    n_neighbours
        Neighbours per member for the ``neighbour_recent`` feature.
    side, demo_lifts
        Side features at the cutoff, and per demographic attribute the levels x categories log lift
        (:meth:`~engine.train.side.CutoffSide.category_demo_lift`).
    """

    members: np.ndarray
    stats: CategoryStats
    conditional: np.ndarray
    member_stats: pd.DataFrame
    categories: MemberRows
    departments: MemberRows
    pool: NeighbourPool
    category_department_idx: np.ndarray
    n_departments: int
    n_neighbours: int
    side: CutoffSide
    demo_lifts: list[np.ndarray]

    def member_parts(self, members: np.ndarray) -> MemberParts:
        """The per-member parts of these inputs cut to ``members`` (sorted, from :attr:`members`)."""
        members = np.asarray(members, dtype=np.int64)
        return MemberParts(
            members,
            self.member_stats.loc[members],
            self.categories.restrict(members),
            self.departments.restrict(members),
        )

    def with_parts(self, parts: MemberParts) -> StretchInputs:
        """These inputs with ``parts`` as the per-member parts: stretch pairs of ``parts.members`` built
        from the result equal those built from the inputs ``parts`` were cut from."""
        return replace(
            self,
            members=parts.members,
            member_stats=parts.member_stats,
            categories=parts.categories,
            departments=parts.departments,
        )

    def shared(self) -> StretchInputs:
        """What every block of members shares: these inputs with the per-member parts of no member.

        Category statistics, co-occurrence, the neighbour pool (bounded by ``n_neighbour_pool``) and the
        side features; each block brings its own :class:`MemberParts` (:meth:`with_parts`).
        """
        return self.with_parts(self.member_parts(np.empty(0, dtype=np.int64)))

    def department_shares(self, members: np.ndarray) -> np.ndarray:
        """Float64 ``len(members)`` x departments: each member's share of spend per department."""
        local, cols = self.departments.take(members)
        spend = np.zeros((len(members), self.n_departments))
        np.add.at(spend, (local, cols[DEPARTMENT_IDX]), cols[SALES_VALUE])
        return spend / np.maximum(spend.sum(axis=1, keepdims=True), 1e-9)


def member_blocks(members: np.ndarray, size: int) -> Iterator[np.ndarray]:
    """``members`` in consecutive blocks of at most ``size`` (one empty block when there are none)."""
    for start in range(0, max(len(members), 1), size):
        yield members[start : start + size]


def concat_blocks(blocks: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Blocks of pairs as one frame, in block order (empty blocks are left out unless all are empty)."""
    frames = list(blocks)
    return pd.concat([f for f in frames if len(f)] or frames[:1], ignore_index=True)


def _conditional(categories: MemberRows, members: np.ndarray, n_cats: int, block: int) -> np.ndarray:
    """``P(c | c')`` from co-occurrence among ``members``, counted ``block`` members at a time."""
    together = np.zeros((n_cats, n_cats), dtype=np.int64)
    for rows in member_blocks(members, block):
        b = categories.bought(rows, n_cats).astype(np.float32)
        together += (b.T @ b).astype(np.int64)  # whole numbers: exact in float32 up to 2**24 members
    buyers = np.diag(together).astype(np.float32)
    return together.astype(np.float32) / np.maximum(buyers, 1.0)[:, None]


def stretch_inputs(
    history: History,
    week: int,
    features: FeatureParams,
    stats: CategoryStats,
    side: CutoffSide | None = None,
) -> StretchInputs:
    """The shared inputs of all stretch blocks at cutoff ``week`` (category-level ones over all members).

    ``side`` holds the side features at ``week`` (none: every side feature "unknown" or 0).
    """
    side = side if side is not None else no_side(history, week, features)
    n_members, n_cats = len(history.members), len(history.categories)
    mcw = history.member_categories(week)
    categories = MemberRows.of(mcw, n_members, (CATEGORY_IDX, WEEK))
    member_stats = history.member_stats(week, features.recent_weeks)
    active = member_stats.index.to_numpy().astype(np.int64)
    seed = [features.neighbour_pool_seed, week]
    pool = pool_members(n_members, active, features.n_neighbour_pool, seed)
    local, cols = categories.take(pool)
    recent = np.zeros((len(pool), n_cats), dtype=bool)
    is_recent = cols[WEEK] >= week - features.recent_weeks
    recent[local[is_recent], cols[CATEGORY_IDX][is_recent]] = True
    return StretchInputs(
        members=active,
        stats=stats,
        conditional=_conditional(categories, active, n_cats, features.member_block),
        member_stats=member_stats,
        categories=categories,
        departments=MemberRows.of(history.department_spend(week), n_members, (DEPARTMENT_IDX, SALES_VALUE)),
        pool=NeighbourPool.of(pool, categories.bought(pool, n_cats), recent),
        category_department_idx=history.category_department_idx,
        n_departments=len(history.departments),
        n_neighbours=features.n_neighbours,
        side=side.for_stretch(),
        demo_lifts=side.category_demo_lift(mcw[[MEMBER_IDX, CATEGORY_IDX]].drop_duplicates(), active),
    )


def stretch_block(inputs: StretchInputs, members: np.ndarray) -> pd.DataFrame:
    """Stretch pairs of ``members`` (sorted, from ``inputs.members``) with features, LightFM columns empty.

    Returns
    -------
    pandas.DataFrame
        ``member_idx``, ``category_idx``, ``suggested_item_idx`` and :data:`STRETCH_FEATURES` (``lfm_*``
        as NaN), one row per member and never-bought category that has an eligible item, ordered by
        member then category.
    """
    members = np.asarray(members, dtype=np.int64)
    stats = inputs.stats
    bought = inputs.categories.bought(members, len(stats.adoption_rate))
    b = bought.astype(np.float32)
    n_categories = b.sum(axis=1)
    # A member's co-occurrence affinity for c: mean of P(c | c') over the categories c' they bought.
    affinity = (exact_matmul(b, inputs.conditional) / np.maximum(n_categories, 1.0)[:, None]).astype(
        np.float32
    )
    neighbours = neighbour_scores(inputs.pool, members, bought, inputs.n_neighbours)
    dept_share = inputs.department_shares(members)
    local, c_idx = np.nonzero(~bought & (stats.suggested_item_idx >= 0)[None, :])
    m_idx = members[local]
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
            "cooccurrence": affinity[local, c_idx],
            "neighbour_recent": neighbours[local, c_idx],
            "department_share": dept_share[local, inputs.category_department_idx[c_idx]],
            "unit_margin": stats.unit_margin[c_idx],
            "adopter_spend": stats.adopter_spend[c_idx],
            "n_categories": n_categories[local],
        }
    )
    member = inputs.member_stats.reindex(m_idx)
    for column in _MEMBER_COLUMNS:
        pairs[column] = member[column].to_numpy(dtype=np.float64)
    pairs = inputs.side.stretch(pairs, stats.suggested_item_idx, inputs.demo_lifts)
    pairs["lfm_score"] = np.nan
    pairs["lfm_rank_pct"] = np.nan
    return pairs


def stretch_pairs(
    history: History,
    week: int,
    features: FeatureParams,
    stats: CategoryStats,
    side: CutoffSide | None = None,
) -> pd.DataFrame:
    """Stretch pairs of every member active before ``week``, built ``member_block`` members at a time.

    Returns
    -------
    pandas.DataFrame
        As :func:`stretch_block`, for all active members (holds them all: for analyses of small data).
    """
    inputs = stretch_inputs(history, week, features, stats, side)
    blocks = member_blocks(inputs.members, features.member_block)
    return concat_blocks(stretch_block(inputs, block) for block in blocks)
