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

#: Rows per matrix product (see :func:`padded_matmul`); memory of a similarity batch: rows x pool floats.
BATCH_ROWS = 2048


def _padded(rows: np.ndarray, n_rows: int) -> np.ndarray:
    batch = np.zeros((n_rows, rows.shape[1]), dtype=rows.dtype)
    batch[: len(rows)] = rows
    return batch


def padded_matmul(a: np.ndarray, b: np.ndarray, n_rows: int = BATCH_ROWS) -> np.ndarray:
    """``a @ b``, multiplying exactly ``n_rows`` rows of ``a`` at a time (the last batch zero-padded).

    BLAS picks other kernels, which sum in another order, for one row or for small products, so the
    float32 result of a row would depend on how many rows it was multiplied with. A fixed batch shape
    gives every member the same bits in whatever block of members it is computed.
    """
    out = np.empty((a.shape[0], b.shape[1]), dtype=np.result_type(a, b))
    for start in range(0, a.shape[0], n_rows):
        rows = a[start : start + n_rows]
        out[start : start + len(rows)] = (_padded(rows, n_rows) @ b)[: len(rows)]
    return out


def unit_rows(bought: np.ndarray) -> np.ndarray:
    """Boolean members x categories as float32 rows of length 1 (rows of members who bought nothing: 0)."""
    b = bought.astype(np.float32)
    b /= np.maximum(np.linalg.norm(b, axis=1), 1e-9)[:, None]
    return b


@dataclass(frozen=True)
class NeighbourPool:
    """The members that neighbours are searched among, with what they bought.

    Attributes
    ----------
    members
        Sorted ``member_idx`` of the pool.
    unit
        Float32 pool x categories: categories bought before the cutoff, rows of length 1 (see
        :func:`unit_rows`).
    recent
        Float32 pool x categories: 1 where bought in the recent weeks before the cutoff.
    """

    members: np.ndarray
    unit: np.ndarray
    recent: np.ndarray

    @classmethod
    def of(cls, members: np.ndarray, bought: np.ndarray, recent: np.ndarray) -> NeighbourPool:
        """A pool from its sorted ``members`` and their boolean ``bought`` and ``recent`` rows."""
        return cls(np.asarray(members, dtype=np.int64), unit_rows(bought), recent.astype(np.float32))


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
    unit = unit_rows(bought)
    members = np.asarray(members, dtype=np.int64)
    position = np.minimum(np.searchsorted(pool.members, members), n_pool - 1)
    in_pool = pool.members[position] == members
    for start in range(0, len(members), batch_size):
        rows = slice(start, start + batch_size)
        sim = (_padded(unit[rows], batch_size) @ pool.unit.T)[: len(unit[rows])]
        own = np.flatnonzero(in_pool[rows])
        sim[own, position[rows][own]] = -1.0  # never one's own neighbour
        top = np.argpartition(-sim, k - 1, axis=1)[:, :k]
        weights = np.clip(np.take_along_axis(sim, top, axis=1), 0.0, None)
        total = np.maximum(weights.sum(axis=1, keepdims=True), 1e-9)
        out[rows] = np.einsum("ij,ijc->ic", weights, pool.recent[top]) / total
    return out
