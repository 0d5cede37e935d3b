"""Peeking-safe intervals: the asymptotic confidence sequence of Waudby-Smith et al., as GrowthBook uses.

A fixed-horizon 95% interval is right once, at the planned end. Looked at every day and acted on at
the first look that excludes zero, it is wrong far more often than 5% (see ``offers experiment aa``).
A *confidence sequence* holds the true difference at every sample size at once with probability
``1 - alpha``, so an analyst can look daily and stop at any look.

The interval here is the two-sided asymptotic confidence sequence of

    I. Waudby-Smith, D. Arbour, R. Sinha, E. H. Kennedy, A. Ramdas, "Time-uniform central limit theory
    and asymptotic confidence sequences", Annals of Statistics (2024), arXiv:2103.06476, eq. (9),

the one GrowthBook's sequential mode uses (``gbstats.frequentist.tests.SequentialTwoSidedTTest``)::

    halfwidth = sigma * sqrt( 2 (N rho^2 + 1) / (N^2 rho^2) * log( sqrt(N rho^2 + 1) / alpha ) )
    rho^2     = ( -2 log(alpha) + log(-2 log(alpha) + 1) ) / N*                      (eq. 161)

with ``N`` the members in both arms, ``sigma^2 = N * se^2`` the per-member variance of the difference
and ``N*`` the tuning size, where the sequence is tightest (set it near the planned sample size). The
always-valid p-value is the reciprocal of the matching mixture e-value (eq. 155), capped at 1: it is
below ``alpha`` exactly when the sequence excludes zero.

GrowthBook's own ``gbstats`` pins numpy < 2 and pandas < 2, which this project has outgrown, so the
formula is written out here (vectorised, so the A/A simulation evaluates thousands of looks at once).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from engine.errors import ExperimentError
from engine.experiments.stats import Estimate

ArrayLike = float | npt.NDArray[np.float64]


def _check(alpha: float, tuning_n: float) -> None:
    if not 0 < alpha < 1:
        raise ExperimentError(f"sequential test: alpha must lie in (0, 1), got {alpha}")
    if tuning_n <= 0:
        raise ExperimentError(f"sequential test: the tuning size must be positive, got {tuning_n}")


def cs_rho_squared(alpha: float, tuning_n: float) -> float:
    """The mixture's ``rho^2`` that makes the sequence tightest at ``tuning_n`` members (eq. 161)."""
    _check(alpha, tuning_n)
    two_log = -2.0 * float(np.log(alpha))
    return (two_log + float(np.log(two_log + 1.0))) / tuning_n


def cs_halfwidth(
    std_err: ArrayLike, n_total: ArrayLike, alpha: float, tuning_n: float
) -> npt.NDArray[np.float64]:
    """Half-width of the ``1 - alpha`` confidence sequence for a difference with ``std_err`` at ``n_total``.

    Arrays broadcast: one call covers many experiments and many looks.
    """
    rho2 = cs_rho_squared(alpha, tuning_n)
    n = np.asarray(n_total, dtype=np.float64)
    sigma2 = np.square(np.asarray(std_err, dtype=np.float64)) * n
    inner = 2.0 * (n * rho2 + 1.0) / (np.square(n) * rho2) * np.log(np.sqrt(n * rho2 + 1.0) / alpha)
    return np.asarray(np.sqrt(sigma2 * inner), dtype=np.float64)


def sequential_p_value(
    diff: ArrayLike, std_err: ArrayLike, n_total: ArrayLike, alpha: float, tuning_n: float
) -> npt.NDArray[np.float64]:
    """Always-valid p-value of ``diff = 0`` (eq. 155): ``min(1, 1 / e-value)``; arrays broadcast."""
    rho2 = cs_rho_squared(alpha, tuning_n)
    n = np.asarray(n_total, dtype=np.float64)
    se = np.asarray(std_err, dtype=np.float64)
    d = np.asarray(diff, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        z2 = np.where(se > 0, np.square(d / se), np.where(d == 0, 0.0, np.inf))
    tr = n * rho2 + 1.0
    # log of the e-value; p = exp(-log e), capped at 1 (computed in logs so huge z does not overflow).
    log_e = rho2 * n * z2 / (2.0 * tr) - 0.5 * np.log(tr)
    return np.asarray(np.minimum(1.0, np.exp(-log_e)), dtype=np.float64)


def sequential_estimate(estimate: Estimate, n_total: int, alpha: float, tuning_n: float) -> Estimate:
    """``estimate`` with its interval and p-value replaced by the confidence sequence's."""
    if n_total < 2:
        raise ExperimentError(f"sequential test: need at least two members, got {n_total}")
    width = float(cs_halfwidth(estimate.std_err, n_total, alpha, tuning_n))
    p = float(sequential_p_value(estimate.diff, estimate.std_err, n_total, alpha, tuning_n))
    return Estimate(
        estimate.diff,
        estimate.diff - width,
        estimate.diff + width,
        estimate.std_err,
        p,
        estimate.treatment_mean,
        estimate.control_mean,
    )
