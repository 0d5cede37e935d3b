"""Member x category affinity from similar members: what shoppers like this one bought lately.

A member's neighbours are the members whose sets of categories (bought before the cutoff) are most
similar by cosine. The neighbour score of a category is the similarity-weighted share of neighbours who
bought in it during the recent weeks: it catches categories that people like the member are picking up
now, which global popularity and static co-occurrence miss. Scored in batches of members.
"""

from __future__ import annotations

import numpy as np


def neighbour_scores(
    bought: np.ndarray, recent: np.ndarray, n_neighbours: int, batch_size: int = 2048
) -> np.ndarray:
    """Similarity-weighted share of each member's nearest neighbours who bought each category recently.

    Parameters
    ----------
    bought
        Boolean members x categories: bought before the cutoff (defines similarity).
    recent
        Boolean members x categories: bought in the recent weeks before the cutoff.
    n_neighbours
        Neighbours kept per member (the member itself excluded).
    batch_size
        Members per similarity block (memory: ``batch_size x n_members`` floats).

    Returns
    -------
    numpy.ndarray
        Float32 members x categories scores in [0, 1].
    """
    n = bought.shape[0]
    b = bought.astype(np.float32)
    norms = np.linalg.norm(b, axis=1)
    b /= np.maximum(norms, 1e-9)[:, None]
    r = recent.astype(np.float32)
    k = max(min(n_neighbours, n - 1), 1)
    out = np.zeros(bought.shape, dtype=np.float32)
    for start in range(0, n, batch_size):
        rows = np.arange(start, min(start + batch_size, n))
        sim = b[rows] @ b.T
        sim[np.arange(len(rows)), rows] = -1.0  # never one's own neighbour
        top = np.argpartition(-sim, k - 1, axis=1)[:, :k] if n > 1 else np.zeros((len(rows), 0), dtype=int)
        weights = np.clip(np.take_along_axis(sim, top, axis=1), 0.0, None)
        total = np.maximum(weights.sum(axis=1, keepdims=True), 1e-9)
        out[rows] = np.einsum("ij,ijc->ic", weights, r[top]) / total
    return out
