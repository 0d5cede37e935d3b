"""Member x category affinity from similar members: what shoppers like this one bought lately.

A member's neighbours are the members whose sets of categories (bought before the cutoff) are most
similar by cosine. The neighbour score of a category is the similarity-weighted share of neighbours who
bought in it during the recent weeks: it catches categories that people like the member are picking up
now, which global popularity and static co-occurrence miss.

Neighbours are searched in a :class:`NeighbourPool` of at most ``n_neighbour_pool`` members (a seeded
sample of those active before the cutoff), so scoring costs members x pool instead of members squared.
When every member fits in the pool, the search is exactly the all-against-all one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.train.history import sample_members

#: Rows per similarity batch; memory of a batch: rows x pool floats.
BATCH_ROWS = 2048
#: Fixed-point scale of :func:`exact_matmul`: weights in [0, 1] times 2**40, summed over up to 2**12 terms,
#: stay below 2**53, where float64 holds every whole number exactly.
_FIXED_POINT = 2.0**40
_MAX_TERMS = 2**12


def exact_matmul(indicator: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``indicator @ weights`` for 0/1 ``indicator`` and ``weights`` in [0, 1], the same bits in any batch.

    BLAS sums a row in an order that depends on where the row sits in the product (on some CPUs a
    row's position modulo the kernel's tile changes its float32 result), so a member's features would
    depend on which members it was computed with. Here the weights are rounded to whole multiples of
    2**-40 and summed in float64, where sums of whole numbers are exact in any order; the error is
    below 1e-12 of each term.
    """
    if indicator.shape[1] > _MAX_TERMS:
        raise ValueError(f"exact_matmul: {indicator.shape[1]} terms per row exceed {_MAX_TERMS}")
    fixed = np.rint(np.asarray(weights, dtype=np.float64) * _FIXED_POINT)
    return (indicator.astype(np.float64) @ fixed) / _FIXED_POINT


def _counts(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b.T`` for 0/1 float32 rows: whole numbers below 2**24, exact in float32 in any order."""
    return a @ b.T


def _inverse_norms(bought: np.ndarray) -> np.ndarray:
    """1 / the length of each 0/1 row (0 for a member who bought nothing)."""
    n = bought.sum(axis=1, dtype=np.float32)
    return np.divide(1.0, np.sqrt(n), out=np.zeros(len(n), dtype=np.float32), where=n > 0)


@dataclass(frozen=True)
class NeighbourPool:
    """The members that neighbours are searched among, with what they bought.

    Attributes
    ----------
    members
        Sorted ``member_idx`` of the pool.
    bought
        Float32 pool x categories: 1 where bought before the cutoff.
    inverse_norm
        1 / the length of each ``bought`` row (0 for a member who bought nothing).
    recent
        Float32 pool x categories: 1 where bought in the recent weeks before the cutoff.
    """

    members: np.ndarray
    bought: np.ndarray
    inverse_norm: np.ndarray
    recent: np.ndarray

    @classmethod
    def of(cls, members: np.ndarray, bought: np.ndarray, recent: np.ndarray) -> NeighbourPool:
        """A pool from its sorted ``members`` and their boolean ``bought`` and ``recent`` rows."""
        return cls(
            np.asarray(members, dtype=np.int64),
            bought.astype(np.float32),
            _inverse_norms(bought),
            recent.astype(np.float32),
        )


def pool_members(n_members: int, active: np.ndarray, size: int, seed: int | list[int]) -> np.ndarray:
    """Who neighbours are searched among: every member when at most ``size``, else a sample of ``active``.

    Members inactive before the cutoff bought nothing, so they are similar to nobody and weigh 0 as
    neighbours; keeping them when everyone fits leaves the search exactly the all-against-all one, even
    in how ties between equally similar members are broken. Otherwise the pool is ``size`` members
    drawn from ``active`` with ``seed`` (all of them when fewer).
    """
    if n_members <= size:
        return np.arange(n_members, dtype=np.int64)
    return sample_members(active, size, seed)


def neighbour_scores(
    pool: NeighbourPool,
    members: np.ndarray,
    bought: np.ndarray,
    n_neighbours: int,
    batch_size: int = BATCH_ROWS,
) -> np.ndarray:
    """Similarity-weighted share of each member's nearest pool members who bought each category recently.

    Parameters
    ----------
    pool
        The members searched for neighbours.
    members
        ``member_idx`` of the rows of ``bought``; a member of the pool is never its own neighbour.
    bought
        Boolean ``len(members)`` x categories: bought before the cutoff (defines similarity).
    n_neighbours
        Neighbours kept per member.
    batch_size
        Members per similarity batch (memory: ``batch_size x len(pool.members)`` floats).

    Returns
    -------
    numpy.ndarray
        Float32 ``len(members)`` x categories scores in [0, 1].
    """
    out = np.zeros(bought.shape, dtype=np.float32)
    n_pool = len(pool.members)
    if n_pool <= 1:
        return out
    k = min(n_neighbours, n_pool - 1)
    rows_f32 = bought.astype(np.float32)
    inverse = _inverse_norms(bought)
    members = np.asarray(members, dtype=np.int64)
    position = np.minimum(np.searchsorted(pool.members, members), n_pool - 1)
    in_pool = pool.members[position] == members
    for start in range(0, len(members), batch_size):
        rows = slice(start, start + batch_size)
        # cosine = shared categories / (|a| |b|): the counts are exact, the scaling element-wise
        sim = _counts(rows_f32[rows], pool.bought)
        sim *= inverse[rows][:, None]
        sim *= pool.inverse_norm[None, :]
        own = np.flatnonzero(in_pool[rows])
        sim[own, position[rows][own]] = -1.0  # never one's own neighbour
        top = np.argpartition(-sim, k - 1, axis=1)[:, :k]
        weights = np.clip(np.take_along_axis(sim, top, axis=1), 0.0, None)
        total = np.maximum(weights.sum(axis=1, keepdims=True), 1e-9)
        out[rows] = np.einsum("ij,ijc->ic", weights, pool.recent[top]) / total
    return out
