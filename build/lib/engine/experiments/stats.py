"""The statistics behind an experiment verdict: pure functions over arrays, no I/O.

- :func:`welch_diff`: difference of means with Welch's unequal-variance t interval.
- :func:`ratio_diff`: difference of two ratio metrics (sum x / sum y per arm, members as units) with
  delta-method variances and a normal interval.
- :func:`cuped_theta` / :func:`cuped_adjust`: CUPED (Deng et al. 2013) with the pre-period covariate;
  theta is the pooled within-arm slope, which makes the adjusted difference equal to the treatment
  coefficient of ``OLS(y ~ treated + x)``.
- :func:`srm_test`: chi-square goodness of fit of arm sizes against the configured weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

from engine.errors import ExperimentError

Array = npt.NDArray[np.float64]

#: A variance below this is treated as zero (constant metric): no interval can be formed.
_ZERO_VARIANCE = 1e-15


@dataclass(frozen=True)
class Estimate:
    """A treatment-minus-control difference with its interval and p-value."""

    diff: float
    ci_low: float
    ci_high: float
    std_err: float
    p_value: float
    treatment_mean: float
    control_mean: float

    @property
    def relative(self) -> float:
        """The difference relative to the control mean (NaN when the control mean is 0)."""
        return self.diff / self.control_mean if self.control_mean else float("nan")

    @property
    def significant(self) -> bool:
        """Whether the interval excludes zero."""
        return self.ci_low > 0 or self.ci_high < 0


def _as_array(values: Sequence[float] | Array, name: str, minimum: int = 2) -> Array:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1 or arr.size < minimum:
        raise ExperimentError(f"{name}: need at least {minimum} members, got {arr.size}")
    if not np.all(np.isfinite(arr)):
        raise ExperimentError(f"{name}: {int((~np.isfinite(arr)).sum())} non-finite value(s)")
    return arr


def welch_diff(
    treatment: Sequence[float] | Array, control: Sequence[float] | Array, alpha: float
) -> Estimate:
    """Mean difference ``treatment - control`` with Welch's t interval at level ``1 - alpha``."""
    t = _as_array(treatment, "treatment")
    c = _as_array(control, "control")
    vt, vc = t.var(ddof=1) / t.size, c.var(ddof=1) / c.size
    diff = float(t.mean() - c.mean())
    se = float(np.sqrt(vt + vc))
    if se < _ZERO_VARIANCE:
        return Estimate(diff, diff, diff, 0.0, 1.0 if diff == 0 else 0.0, float(t.mean()), float(c.mean()))
    dof = (vt + vc) ** 2 / (vt**2 / (t.size - 1) + vc**2 / (c.size - 1))
    q = float(stats.t.ppf(1 - alpha / 2, dof))
    p = float(2 * stats.t.sf(abs(diff) / se, dof))
    return Estimate(diff, diff - q * se, diff + q * se, se, p, float(t.mean()), float(c.mean()))


def ratio_mean_var(x: Array, y: Array) -> tuple[float, float]:
    """``sum(x) / sum(y)`` and its delta-method variance, with members (rows) as independent units."""
    n = x.size
    mx, my = x.mean(), y.mean()
    if my == 0:
        raise ExperimentError("ratio metric: the denominator sums to zero")
    cov = np.cov(x, y, ddof=1)
    r = mx / my
    var = (cov[0, 0] / my**2 - 2 * mx * cov[0, 1] / my**3 + mx**2 * cov[1, 1] / my**4) / n
    return float(r), float(var)


def ratio_diff(
    num_t: Sequence[float] | Array,
    den_t: Sequence[float] | Array,
    num_c: Sequence[float] | Array,
    den_c: Sequence[float] | Array,
    alpha: float,
) -> Estimate:
    """Difference of ratio metrics (e.g. completions per challenge) with a delta-method normal interval."""
    rt, vt = ratio_mean_var(
        _as_array(num_t, "treatment numerator"), _as_array(den_t, "treatment denominator")
    )
    rc, vc = ratio_mean_var(_as_array(num_c, "control numerator"), _as_array(den_c, "control denominator"))
    diff, se = rt - rc, float(np.sqrt(vt + vc))
    if se < _ZERO_VARIANCE:
        return Estimate(diff, diff, diff, 0.0, 1.0 if diff == 0 else 0.0, rt, rc)
    z = float(stats.norm.ppf(1 - alpha / 2))
    p = float(2 * stats.norm.sf(abs(diff) / se))
    return Estimate(diff, diff - z * se, diff + z * se, se, p, rt, rc)


def cuped_theta(y_t: Array, x_t: Array, y_c: Array, x_c: Array) -> float:
    """Pooled within-arm regression slope of ``y`` on the covariate ``x`` (0 if ``x`` is constant)."""
    xt, xc = x_t - x_t.mean(), x_c - x_c.mean()
    sxx = float(xt @ xt + xc @ xc)
    if sxx < _ZERO_VARIANCE:
        return 0.0
    return float((xt @ (y_t - y_t.mean()) + xc @ (y_c - y_c.mean())) / sxx)


def cuped_adjust(y: Array, x: Array, theta: float, x_mean: float) -> Array:
    """``y - theta * (x - x_mean)``: same mean difference in expectation, less variance."""
    return y - theta * (x - x_mean)


@dataclass(frozen=True)
class CupedEstimate:
    """A CUPED-adjusted difference, the slope used and the variance it removed."""

    estimate: Estimate
    theta: float
    variance_reduction: float


def cuped_diff(
    y_t: Sequence[float] | Array,
    x_t: Sequence[float] | Array,
    y_c: Sequence[float] | Array,
    x_c: Sequence[float] | Array,
    alpha: float,
) -> CupedEstimate:
    """Welch interval on CUPED-adjusted outcomes; ``variance_reduction``: share of the variance removed."""
    yt, xt = _as_array(y_t, "treatment outcome"), _as_array(x_t, "treatment covariate")
    yc, xc = _as_array(y_c, "control outcome"), _as_array(x_c, "control covariate")
    if yt.size != xt.size or yc.size != xc.size:
        raise ExperimentError("CUPED: outcome and covariate lengths differ")
    theta = cuped_theta(yt, xt, yc, xc)
    x_mean = float(np.concatenate([xt, xc]).mean())
    adjusted = welch_diff(cuped_adjust(yt, xt, theta, x_mean), cuped_adjust(yc, xc, theta, x_mean), alpha)
    raw = welch_diff(yt, yc, alpha)
    reduction = 1 - (adjusted.std_err / raw.std_err) ** 2 if raw.std_err > 0 else 0.0
    return CupedEstimate(adjusted, theta, float(reduction))


@dataclass(frozen=True)
class SrmResult:
    """Sample-ratio-mismatch check: observed vs expected members per arm."""

    observed: tuple[int, ...]
    expected: tuple[float, ...]
    chi2: float
    p_value: float
    mismatch: bool


def srm_test(observed: Sequence[int], weights: Sequence[float], srm_alpha: float) -> SrmResult:
    """Chi-square test that arm sizes follow ``weights``; ``mismatch`` when p < ``srm_alpha``."""
    obs = np.asarray(observed, dtype=np.float64)
    total = obs.sum()
    if total == 0:
        raise ExperimentError("sample ratio check: no members in any arm")
    expected = np.asarray(weights, dtype=np.float64) * total
    chi2, p = stats.chisquare(obs, expected)
    return SrmResult(
        tuple(int(o) for o in obs),
        tuple(float(e) for e in expected),
        float(chi2),
        float(p),
        bool(p < srm_alpha),
    )
