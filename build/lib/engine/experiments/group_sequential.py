"""Group-sequential boundaries for a planned number of looks: spends exactly alpha, not less.

The confidence sequence (:mod:`engine.experiments.sequential`) is valid however often and however long
one looks, and pays for that: over a few weeks of daily looks its false-positive rate is well below
alpha (``offers experiment aa``). When the looks are planned (say one a day for three weeks), a
group-sequential test spends alpha over exactly those looks (Lan & DeMets 1983, "Discrete sequential
boundaries for clinical trials", Biometrika 70(3)):

- the z-statistics of the looks are jointly normal under no effect, with correlation ``R`` between
  looks. With a member's outcome growing over the experiment (spend to date) ``R`` is not the
  textbook ``sqrt(n_i / n_j)`` of independent increments, so it is estimated from the members'
  outcome paths (:func:`look_correlation`); for a random split the covariance of the difference at
  looks ``i`` and ``j`` is proportional to ``sum_m e_mi e_mj (y_mi - mu_i)(y_mj - mu_j) / (n_i n_j)``.
- alpha is spent evenly over the planned looks (the linear spending function, Pocock-like), and the
  boundary of look ``k`` is set so that the chance of a first crossing there is ``alpha / looks``,
  given the earlier boundaries (:func:`spending_boundaries`, Monte Carlo over ``R``). Look ``k``'s
  boundary needs only looks ``1..k``: it can be computed when look ``k`` happens.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from engine.errors import ExperimentError

FloatArray = npt.NDArray[np.float64]
#: Added to the correlation's diagonal before the Cholesky factor, for near-singular look schedules.
_JITTER = 1e-10


def look_correlation(paths: FloatArray, entered: FloatArray) -> FloatArray:
    """Correlation between looks of a random split's mean difference, from ``members x looks`` paths.

    Parameters
    ----------
    paths
        Each member's outcome to date at each look.
    entered
        1 where the member is in the experiment at that look, else 0.
    """
    if paths.shape != entered.shape or paths.ndim != 2:
        raise ExperimentError(f"look correlation: paths {paths.shape} and entered {entered.shape} differ")
    n = entered.sum(axis=0)
    if np.any(n < 2):
        raise ExperimentError("look correlation: every look needs at least two members")
    mu = (paths * entered).sum(axis=0) / n
    dev = (paths - mu) * entered
    cov = dev.T @ dev / np.outer(n, n)
    sd = np.sqrt(np.diag(cov))
    if np.any(sd <= 0):
        raise ExperimentError("look correlation: a look with no variation cannot be tested")
    return np.asarray(cov / np.outer(sd, sd), dtype=np.float64)


def spending_boundaries(
    corr: FloatArray, alpha: float, planned_looks: int, samples: int = 200_000, seed: int = 0
) -> FloatArray:
    """Two-sided z boundaries ``c_1..c_k`` for the looks ``corr`` covers, alpha spent evenly over
    ``planned_looks``: ``P(first |Z_j| > c_j at look j) = alpha / planned_looks`` for each look.

    Raises
    ------
    ExperimentError
        More looks than planned, alpha outside (0, 1), or too few samples for the per-look spend.
    """
    looks = corr.shape[0]
    if corr.shape != (looks, looks) or looks < 1:
        raise ExperimentError(f"group-sequential: the correlation must be square, got {corr.shape}")
    if looks > planned_looks:
        raise ExperimentError(f"group-sequential: look {looks} is past the {planned_looks} planned")
    if not 0 < alpha < 1:
        raise ExperimentError(f"group-sequential: alpha must lie in (0, 1), got {alpha}")
    per_look = round(alpha / planned_looks * samples)
    if per_look < 1:
        raise ExperimentError(f"group-sequential: {samples} samples cannot resolve alpha / {planned_looks}")
    chol = np.linalg.cholesky(corr + _JITTER * np.eye(looks))
    z = np.abs(np.random.default_rng(seed).standard_normal((samples, looks)) @ chol.T)
    alive = np.ones(samples, dtype=bool)
    bounds = np.empty(looks)
    for k in range(looks):
        live = np.sort(z[alive, k])[::-1]
        # The boundary lets exactly `per_look` of all samples cross (strictly) first here.
        bounds[k] = live[per_look] if per_look < live.size else 0.0
        alive &= z[:, k] <= bounds[k]
    return bounds
