"""Sparse matrices for LightFM: interactions and side features, with ids kept apart from indices.

LightFM works on rows and columns ``0..n-1``; the retailer's ids (``member_id``, ``item_id``,
``category``) are mapped to those indices (``member_idx``, ``item_idx``, ``category_idx``) by an
:class:`IdMap` and never mixed with them. Every function here takes transactions that are already cut
at the training cutoff: nothing in this module looks at weeks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from engine.data.schema import CATEGORY, DEPARTMENT, ITEM_ID, TIERS
from engine.errors import DataValidationError


@dataclass(frozen=True)
class IdMap:
    """A fixed, sorted set of external ids and their positions ``0..n-1``.

    Attributes
    ----------
    ids
        The external ids; ``ids[idx]`` is the id at position ``idx``.
    """

    ids: np.ndarray

    @classmethod
    def from_values(cls, values: pd.Series | Sequence[object] | np.ndarray) -> IdMap:
        """Distinct values, sorted so that the same ids always get the same indices."""
        return cls(np.asarray(pd.Index(pd.unique(np.asarray(values))).sort_values()))

    def __len__(self) -> int:
        return len(self.ids)

    def to_idx(self, ids: pd.Series | Sequence[object] | np.ndarray, *, strict: bool = True) -> np.ndarray:
        """Positions of ``ids``; unknown ids raise (``strict``) or map to ``-1``."""
        idx = pd.Index(self.ids).get_indexer(np.asarray(ids))
        if strict and (idx < 0).any():
            unknown = np.asarray(ids)[idx < 0]
            raise DataValidationError(
                f"{len(unknown)} id(s) not in the id map of {len(self)} ids, e.g. {list(unknown[:5])}"
            )
        return np.asarray(idx, dtype=np.int64)

    def to_id(self, idx: np.ndarray | Sequence[int]) -> np.ndarray:
        """External ids at positions ``idx``."""
        return self.ids[np.asarray(idx, dtype=np.int64)]


def _coo(rows: np.ndarray, cols: np.ndarray, values: np.ndarray, shape: tuple[int, int]) -> sp.coo_matrix:
    return sp.coo_matrix((values.astype(np.float32), (rows, cols)), shape=shape)


def interactions(
    member_idx: np.ndarray, column_idx: np.ndarray, counts: np.ndarray, shape: tuple[int, int]
) -> tuple[sp.coo_matrix, sp.coo_matrix]:
    """Member x column interactions (items or categories) and their weights ``log1p(count)``.

    Parameters
    ----------
    member_idx, column_idx, counts
        One entry per purchase record (duplicates are summed), e.g. distinct baskets per member, item
        and week.
    shape
        ``(n_members, n_columns)``.

    Returns
    -------
    tuple of scipy.sparse.coo_matrix
        The binary interaction matrix and the weight matrix with the same sparsity (LightFM's
        ``sample_weight``): a product bought in many baskets weighs more, with diminishing returns.
    """
    summed = sp.coo_matrix((counts.astype(np.float64), (member_idx, column_idx)), shape=shape).tocsr()
    summed.sum_duplicates()
    summed.eliminate_zeros()
    coo = summed.tocoo()
    binary = _coo(coo.row, coo.col, np.ones(coo.nnz), shape)
    weights = _coo(coo.row, coo.col, np.log1p(coo.data), shape)
    return binary, weights


def _row_normalised(matrix: sp.csr_matrix) -> sp.csr_matrix:
    # LightFM sums feature embeddings; normalising rows keeps members with many features on the same scale.
    sums = np.asarray(matrix.sum(axis=1)).ravel()
    sums[sums == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / sums) @ matrix, dtype=np.float32)


def member_features(
    tier_idx: np.ndarray,
    member_idx: np.ndarray,
    department_idx: np.ndarray,
    spend: np.ndarray,
    n_departments: int,
    demographics: sp.csr_matrix | None = None,
) -> sp.csr_matrix:
    """Member features: identity, tier one-hot, department spend shares, demographics (rows sum to 1).

    Parameters
    ----------
    tier_idx
        Position of each member's tier in :data:`~engine.data.schema.TIERS` (one entry per member).
    member_idx, department_idx, spend
        Spend records before the cutoff (duplicates are summed).
    n_departments
        Number of departments (columns of the share block).
    demographics
        Optional members x levels one-hot, one 1 per attribute with an explicit ``unknown`` level
        (:meth:`engine.train.side.Demographics.one_hot`), so members share embeddings with their peers.
    """
    n = len(tier_idx)
    identity = sp.identity(n, dtype=np.float32, format="csr")
    tiers = _coo(np.arange(n), tier_idx, np.ones(n), (n, len(TIERS))).tocsr()
    by_dept = sp.coo_matrix((spend, (member_idx, department_idx)), shape=(n, n_departments)).tocsr()
    totals = np.asarray(by_dept.sum(axis=1)).ravel()
    totals[totals <= 0] = 1.0
    shares = sp.csr_matrix(sp.diags(1.0 / totals) @ by_dept, dtype=np.float32)
    blocks = [identity, tiers, shares, *([] if demographics is None else [demographics])]
    return _row_normalised(sp.hstack(blocks, format="csr"))


def item_features(catalog: pd.DataFrame, items: IdMap) -> sp.csr_matrix:
    """Item feature matrix: identity, category and department one-hots (rows sum to 1).

    Cold items share their category's and department's embeddings, so they still get sensible scores.
    """
    rows = catalog.set_index(ITEM_ID).reindex(items.ids)
    return _hierarchy_features(rows[CATEGORY].astype("str"), rows[DEPARTMENT].astype("str"), identity=True)


def category_features(catalog: pd.DataFrame, categories: IdMap) -> sp.csr_matrix:
    """Category feature matrix for the member x category model: identity and department one-hots."""
    dept_of = catalog.drop_duplicates(CATEGORY).set_index(CATEGORY)[DEPARTMENT].astype("str")
    cats = pd.Series(categories.ids).astype("str")
    return _hierarchy_features(cats, cats.map(dept_of).fillna("").astype("str"), identity=False)


def _hierarchy_features(category: pd.Series, department: pd.Series, *, identity: bool) -> sp.csr_matrix:
    n = len(category)
    blocks: list[sp.csr_matrix] = [sp.identity(n, dtype=np.float32, format="csr")] if identity else []
    for level in (category, department):
        ids = IdMap.from_values(level.to_numpy())
        blocks.append(_coo(np.arange(n), ids.to_idx(level.to_numpy()), np.ones(n), (n, len(ids))).tocsr())
    return _row_normalised(sp.hstack(blocks, format="csr"))
