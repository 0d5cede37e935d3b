"""Peeking-safe answers: the asymptotic confidence sequence keeps its error rate under daily looks."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from engine.experiments.analysis import analyze
from engine.experiments.bayes import bayes_summary
from engine.experiments.config import load_experiments_config
from engine.experiments.report import render_markdown
from engine.experiments.sequential import cs_halfwidth, sequential_estimate, sequential_p_value
from engine.experiments.stats import welch_diff
from tests.experiments.test_guardrails import issue_table, two_arm_definition

CONFIG = load_experiments_config().analysis
ALPHA = 0.05
GENEROUS = [
    {"metric": "opt_out_rate", "max_harm": 0.05},
    {"metric": "spend_per_member", "max_harm": 18.5},
]


def test_the_sequence_is_wider_than_the_fixed_interval_and_agrees_with_its_p_value() -> None:
    rng = np.random.default_rng(4)
    t, c = rng.normal(0.3, 2.0, 900), rng.normal(0.0, 2.0, 800)
    fixed = welch_diff(t, c, ALPHA)
    seq = sequential_estimate(fixed, t.size + c.size, ALPHA, tuning_n=1700)
    assert seq.diff == fixed.diff
    assert seq.ci_low < fixed.ci_low < fixed.ci_high < seq.ci_high
    # The always-valid p-value is below alpha exactly when the sequence excludes zero.
    for shift in np.linspace(-0.5, 0.5, 41):
        moved = sequential_estimate(welch_diff(t + shift, c, ALPHA), t.size + c.size, ALPHA, 1700)
        assert (moved.p_value < ALPHA) == moved.significant


def test_halfwidth_shrinks_with_more_members_and_is_tightest_near_the_tuning_size() -> None:
    n = np.array([200.0, 2000.0, 20000.0])
    se = 1.0 / np.sqrt(n)  # the standard error of a unit-variance mean
    widths = cs_halfwidth(se, n, ALPHA, tuning_n=2000)
    assert np.all(np.diff(widths) < 0)
    # Relative to the fixed-horizon 1.96 * se, the price of peeking is smallest near tuning_n.
    ratio = widths / (stats.norm.ppf(1 - ALPHA / 2) * se)
    assert ratio[1] < ratio[0]
    assert ratio[1] < ratio[2]


def _streams(runs: int, looks: int, per_look: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative mean difference and its standard error at each look of ``runs`` A/A experiments."""
    rng = np.random.default_rng(seed)
    a = rng.standard_t(5, size=(runs, looks, per_look)).sum(axis=2).cumsum(axis=1)
    b = rng.standard_t(5, size=(runs, looks, per_look)).sum(axis=2).cumsum(axis=1)
    n = per_look * np.arange(1, looks + 1)
    var = 5 / 3  # variance of Student's t with 5 degrees of freedom
    return a / n - b / n, np.sqrt(2 * var / n) * np.ones((runs, 1))


def test_by_simulation_daily_looks_keep_the_error_rate_with_the_sequence_not_naively() -> None:
    runs, looks, per_look = 4000, 21, 40
    diff, se = _streams(runs, looks, per_look, seed=9)
    n_total = 2 * per_look * np.arange(1, looks + 1)
    z = stats.norm.ppf(1 - ALPHA / 2)
    naive = (np.abs(diff) > z * se).any(axis=1).mean()
    once = (np.abs(diff[:, -1]) > z * se[:, -1]).mean()
    width = cs_halfwidth(se, n_total, ALPHA, tuning_n=int(n_total[-1]))
    sequential = (np.abs(diff) > width).any(axis=1).mean()
    assert naive > 0.12  # peeking daily with a fixed-horizon test inflates the error rate
    assert abs(once - ALPHA) < 0.012  # one look at the end is the fixed-horizon test
    assert sequential <= ALPHA + 0.01
    p = sequential_p_value(diff, se, n_total, ALPHA, tuning_n=int(n_total[-1]))
    assert ((p < ALPHA).any(axis=1).mean()) == pytest.approx(sequential)


def test_sequential_definition_decides_with_the_confidence_sequence() -> None:
    # Net profit up by about 2.4 standard errors: a fixed CI excludes zero, the sequence does not.
    frame = issue_table()
    treated = frame["arm"] == "recommender"
    sd = frame.loc[treated, "net_profit"].std()
    se = np.sqrt(sd**2 / treated.sum() + sd**2 / (~treated).sum())
    frame.loc[treated, "net_profit"] += (
        frame.loc[~treated, "net_profit"].mean() + 2.4 * se - frame.loc[treated, "net_profit"].mean()
    )
    fixed = analyze(frame, two_arm_definition(correction="none", guardrails=GENEROUS), CONFIG)
    assert fixed.verdicts[0].endswith("roll it out.")
    seq_def = two_arm_definition(correction="none", guardrails=GENEROUS, sequential=True)
    result = analyze(frame, seq_def, CONFIG)
    comparison = result.comparison("net_profit_per_member", "recommender")
    assert comparison.sequential is not None
    assert comparison.estimate.significant
    assert not comparison.sequential.significant
    assert "confidence sequence" in result.verdicts[0]
    assert "roll it out" not in result.verdicts[0]
    text = render_markdown(result)
    assert "always-valid" in text


def test_bayes_summary_matches_numerical_integration() -> None:
    diff, se = 1.3, 0.9
    summary = bayes_summary(diff, se)
    density = stats.norm(diff, se).pdf
    loss, _ = integrate.quad(lambda d: max(-d, 0.0) * density(d), -20, 20, points=[0.0])
    assert summary.chance_to_beat == pytest.approx(stats.norm.sf(0, diff, se))
    assert summary.expected_loss == pytest.approx(loss, rel=1e-6)


@pytest.mark.parametrize(
    ("tuning", "ci_low", "ci_high", "p_value"),
    [
        (2000, -0.1949729930314581, 1.065402486815069, 0.40925729661595023),
        (5000, -0.220871082184378, 1.091300575967989, 0.38595246337384254),
    ],
)
def test_equals_growthbooks_sequential_two_sided_t_test(
    tuning: int, ci_low: float, ci_high: float, p_value: float
) -> None:
    """Reference numbers from gbstats 0.8.0 ``SequentialTwoSidedTTest`` (absolute difference) on this data.

    gbstats pins numpy < 2, so it cannot be a test dependency here; its answers were computed once:
    ``SequentialConfig(sequential_tuning_parameter=tuning, difference_type="absolute")`` with
    ``SampleMeanStatistic(n, sum, sum_squares)`` of the two samples below.
    """
    rng = np.random.default_rng(21)
    control, treatment = rng.normal(10.0, 4.0, 800), rng.normal(10.6, 5.0, 900)
    seq = sequential_estimate(welch_diff(treatment, control, ALPHA), 1700, ALPHA, tuning)
    assert seq.diff == pytest.approx(0.4352147468918055, rel=1e-12)
    assert (seq.ci_low, seq.ci_high) == pytest.approx((ci_low, ci_high), rel=1e-10)
    assert seq.p_value == pytest.approx(p_value, rel=1e-10)
