"""The statistics equal statsmodels' on the same data, and the SRM check catches a broken split."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from engine.experiments.stats import cuped_diff, ratio_diff, ratio_mean_var, srm_test, welch_diff

ALPHA = 0.05


@pytest.fixture
def samples() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    x_t = rng.gamma(2.0, 30.0, 700)
    x_c = rng.gamma(2.0, 30.0, 500)
    y_t = 5.0 + 0.8 * x_t + rng.normal(0, 20, 700) + 4.0
    y_c = 5.0 + 0.8 * x_c + rng.normal(0, 35, 500)
    return y_t, x_t, y_c, x_c


def test_welch_equals_statsmodels(samples: tuple[np.ndarray, ...]) -> None:
    y_t, _, y_c, _ = samples
    ours = welch_diff(y_t, y_c, ALPHA)
    cm = CompareMeans(DescrStatsW(y_t), DescrStatsW(y_c))
    low, high = cm.tconfint_diff(alpha=ALPHA, usevar="unequal")
    _, p, _ = cm.ttest_ind(usevar="unequal")
    assert ours.diff == pytest.approx(y_t.mean() - y_c.mean())
    assert (ours.ci_low, ours.ci_high) == pytest.approx((low, high), rel=1e-10)
    assert ours.p_value == pytest.approx(p, rel=1e-8)


def test_cuped_point_estimate_equals_ols_and_ci_equals_welch_on_adjusted(
    samples: tuple[np.ndarray, ...],
) -> None:
    y_t, x_t, y_c, x_c = samples
    ours = cuped_diff(y_t, x_t, y_c, x_c, ALPHA)
    y = np.concatenate([y_t, y_c])
    x = np.concatenate([x_t, x_c])
    treated = np.concatenate([np.ones_like(y_t), np.zeros_like(y_c)])
    ols = sm.OLS(y, sm.add_constant(np.column_stack([treated, x]))).fit()
    assert ours.estimate.diff == pytest.approx(ols.params[1], rel=1e-10)
    assert ours.theta == pytest.approx(ols.params[2], rel=1e-10)
    adj_t = y_t - ours.theta * (x_t - x.mean())
    adj_c = y_c - ours.theta * (x_c - x.mean())
    low, high = CompareMeans(DescrStatsW(adj_t), DescrStatsW(adj_c)).tconfint_diff(
        alpha=ALPHA, usevar="unequal"
    )
    assert (ours.estimate.ci_low, ours.estimate.ci_high) == pytest.approx((low, high), rel=1e-10)
    assert ours.variance_reduction > 0.5


def test_delta_method_equals_linearised_variance() -> None:
    rng = np.random.default_rng(5)
    den = rng.integers(1, 6, 400).astype(float)
    num = rng.binomial(den.astype(int), 0.3).astype(float)
    r, var = ratio_mean_var(num, den)
    assert r == pytest.approx(num.sum() / den.sum())
    # The delta method is the variance of the mean of the linearised values (num - r*den) / mean(den).
    linear = (num - r * den) / den.mean()
    assert var == pytest.approx(
        DescrStatsW(linear).var_ddof(1) / len(num) if False else linear.var(ddof=1) / len(num)
    )


def test_ratio_diff_covers_truth_and_detects_a_shift() -> None:
    rng = np.random.default_rng(8)
    den_t, den_c = rng.integers(1, 5, 3000).astype(float), rng.integers(1, 5, 3000).astype(float)
    num_t = rng.binomial(den_t.astype(int), 0.40).astype(float)
    num_c = rng.binomial(den_c.astype(int), 0.30).astype(float)
    est = ratio_diff(num_t, den_t, num_c, den_c, ALPHA)
    assert est.ci_low < 0.10 < est.ci_high
    assert est.significant


def test_srm_flags_a_broken_split() -> None:
    assert not srm_test([4010, 2990, 3000], [0.4, 0.3, 0.3], 0.001).mismatch
    broken = srm_test([4300, 2800, 2900], [0.4, 0.3, 0.3], 0.001)
    assert broken.mismatch
    assert broken.p_value < 1e-6
