"""Household bootstrap of a statistic computed from per-household sums. Pure.

Every estimator in :mod:`engine.lift` reduces the data to an array with one row per household whose
rows *add up*: counts of purchase weeks, at-risk weeks, Mantel-Haenszel terms. The estimate is a
function of the column sums; a bootstrap replicate is the same function of sums weighted by one
Poisson(1) draw per household (the Poisson bootstrap: resampling households with replacement, without
materialising the resamples), so that a household's purchases stay together and the interval accounts
for their correlation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
#: Maps sums shaped ``(..., *cells)`` to one value per leading index, shaped ``(...)``.
Statistic = Callable[[FloatArray], FloatArray]


@dataclass(frozen=True)
class Interval:
    """A point estimate with its bootstrap standard error and percentile interval."""

    estimate: float
    std_error: float
    ci_low: float
    ci_high: float
    #: Replicates whose statistic was not finite (a cell empty in that resample): left out.
    failed: int

    @property
    def finite(self) -> bool:
        """Whether every number is finite (an estimate exists at all)."""
        return all(np.isfinite([self.estimate, self.std_error, self.ci_low, self.ci_high]))


def poisson_weights(households: int, resamples: int, seed: int) -> FloatArray:
    """``resamples x households`` Poisson(1) weights, reproducible from ``seed``."""
    rng = np.random.default_rng(seed)
    return rng.poisson(1.0, size=(resamples, households)).astype(np.float64)


def bootstrap(
    per_household: FloatArray, statistic: Statistic, weights: FloatArray, confidence: float
) -> Interval:
    """The statistic of the column sums, with a household bootstrap interval at ``confidence``.

    Parameters
    ----------
    per_household
        ``(households, *cells)``: each household's additive contributions.
    statistic
        The estimate as a function of the sums (vectorised over leading axes).
    weights
        ``(resamples, households)`` from :func:`poisson_weights`.
    confidence
        Coverage of the percentile interval.
    """
    cells = per_household.shape[1:]
    flat = per_household.reshape(per_household.shape[0], -1)
    point = float(statistic(flat.sum(axis=0).reshape(cells)))
    draws = statistic((weights @ flat).reshape((weights.shape[0], *cells)))
    ok = draws[np.isfinite(draws)]
    failed = int(draws.size - ok.size)
    if not np.isfinite(point) or ok.size < 2:
        nan = float("nan")
        return Interval(point, nan, nan, nan, failed)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(ok, [tail, 1.0 - tail])
    # the percentile interval need not contain a skewed point estimate; the lift file requires it to
    return Interval(point, float(ok.std(ddof=1)), float(min(low, point)), float(max(high, point)), failed)


def logit(p: FloatArray) -> FloatArray:
    """``log(p / (1 - p))``; NaN outside (0, 1)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log(p / (1.0 - p))
    return np.where((p > 0.0) & (p < 1.0), out, np.nan)


def safe_log_ratio(num: FloatArray, den: FloatArray) -> FloatArray:
    """``log(num / den)``; NaN where either is not positive."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log(num / den)
    return np.where((num > 0.0) & (den > 0.0), out, np.nan)
