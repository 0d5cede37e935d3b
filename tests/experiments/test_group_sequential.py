"""Group-sequential boundaries: alpha spent evenly over the planned looks, checked on fresh samples."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from engine.errors import ExperimentError
from engine.experiments.group_sequential import look_correlation, spending_boundaries

ALPHA = 0.05


def test_one_look_is_the_fixed_horizon_test() -> None:
    bounds = spending_boundaries(np.ones((1, 1)), ALPHA, planned_looks=1)
    assert bounds[0] == pytest.approx(stats.norm.ppf(1 - ALPHA / 2), abs=0.01)


@pytest.mark.parametrize("looks", [3, 10])
def test_brownian_looks_spend_alpha_evenly(looks: int) -> None:
    t = np.arange(1, looks + 1) / looks
    corr = np.sqrt(np.minimum.outer(t, t) / np.maximum.outer(t, t))  # independent increments
    bounds = spending_boundaries(corr, ALPHA, looks)
    # The first look alone spends alpha / looks.
    assert bounds[0] == pytest.approx(stats.norm.ppf(1 - ALPHA / (2 * looks)), abs=0.02)
    # Fresh paths (another seed) cross somewhere with probability alpha, a share alpha/looks at each.
    z = np.abs(np.random.default_rng(99).standard_normal((200_000, looks)) @ np.linalg.cholesky(corr).T)
    crossed = z > bounds
    first = np.where(crossed.any(axis=1), crossed.argmax(axis=1), looks)
    assert (first < looks).mean() == pytest.approx(ALPHA, abs=0.003)
    assert np.bincount(first, minlength=looks + 1)[:looks] / len(first) == pytest.approx(
        np.full(looks, ALPHA / looks), abs=0.002
    )


def test_look_correlation_of_growing_outcomes() -> None:
    rng = np.random.default_rng(2)
    daily = rng.gamma(0.5, 10.0, (3000, 5))
    paths = daily.cumsum(axis=1)
    entered = np.ones_like(paths)
    corr = look_correlation(paths, entered)
    assert np.diag(corr) == pytest.approx(np.ones(5))
    assert corr[0, 4] == pytest.approx(np.corrcoef(paths[:, 0], paths[:, 4])[0, 1], rel=1e-9)
    with pytest.raises(ExperimentError, match="past the 2 planned"):
        spending_boundaries(corr, ALPHA, planned_looks=2)
