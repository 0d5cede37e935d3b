"""A member's affinity features do not depend on which members they are computed with."""

from __future__ import annotations

import numpy as np
import pytest

from engine.train.affinity import NeighbourPool, exact_matmul, neighbour_scores

N_CATS = 300


def _bought(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.random((n, N_CATS)) < 0.3


def test_exact_matmul_gives_a_row_the_same_bits_alone_and_at_any_position_of_a_batch() -> None:
    rng = np.random.default_rng(0)
    rows = _bought(rng, 40)
    weights = rng.random((N_CATS, N_CATS)).astype(np.float32)
    whole = exact_matmul(rows, weights)
    for i in range(len(rows)):
        # alone, and moved to another position (BLAS kernels tile rows: the position once mattered)
        assert np.array_equal(exact_matmul(rows[i : i + 1], weights)[0], whole[i])
        shifted = np.roll(rows, 7, axis=0)
        assert np.array_equal(exact_matmul(shifted, weights)[(i + 7) % len(rows)], whole[i])
    # and it is the product, to well within float32
    np.testing.assert_allclose(whole, rows.astype(np.float64) @ weights.astype(np.float64), rtol=1e-10)


def test_exact_matmul_refuses_rows_too_long_to_stay_exact() -> None:
    with pytest.raises(ValueError, match="terms per row"):
        exact_matmul(np.ones((1, 5000)), np.ones((5000, 1)))


def test_neighbour_scores_of_a_member_do_not_depend_on_its_batch() -> None:
    rng = np.random.default_rng(1)
    bought = _bought(rng, 60)
    recent = bought & (rng.random(bought.shape) < 0.5)
    members = np.arange(len(bought))
    pool = NeighbourPool.of(members, bought, recent)
    whole = neighbour_scores(pool, members, bought, n_neighbours=5)
    for i in (0, 6, 13, 59):
        alone = neighbour_scores(pool, members[i : i + 1], bought[i : i + 1], n_neighbours=5)
        assert np.array_equal(alone[0], whole[i])
