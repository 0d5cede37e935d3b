"""Multiple comparisons: Holm or Benjamini-Hochberg across arms and metrics, beside the raw p-values."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from engine.experiments.analysis import analyze
from engine.experiments.config import load_experiments_config
from engine.experiments.corrections import adjust_p_values
from engine.experiments.report import render_markdown
from tests.experiments.test_analysis import outcome_frame
from tests.experiments.test_guardrails import issue_table, two_arm_definition

CONFIG = load_experiments_config().analysis
STATSMODELS_NAME = {"holm": "holm", "bh": "fdr_bh"}


@pytest.mark.parametrize("method", ["holm", "bh"])
@pytest.mark.parametrize("seed", range(6))
def test_adjusted_p_values_equal_statsmodels(method: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    p = rng.uniform(0, 1, 12) ** 3  # many small p-values
    p[:3] = p[3]  # ties
    ours = adjust_p_values(p, method)  # type: ignore[arg-type]
    theirs = multipletests(p, alpha=0.05, method=STATSMODELS_NAME[method])[1]
    assert ours == pytest.approx(theirs, rel=1e-12)


def test_no_correction_returns_the_raw_p_values() -> None:
    assert adjust_p_values([0.01, 0.2], "none") == pytest.approx([0.01, 0.2])


def test_analysis_adjusts_the_family_of_arms_and_metrics() -> None:
    frame = outcome_frame({"recommender": 800, "baseline": 600, "holdout": 600}, effect=3.0)
    for method in ("holm", "bh"):
        definition = two_arm_definition(
            correction=method,
            arms=[
                {"name": "recommender", "policy": "recommender", "weight": 0.4},
                {"name": "baseline", "policy": "baseline", "weight": 0.3},
                {"name": "holdout", "policy": "holdout", "weight": 0.3},
            ],
        )
        result = analyze(frame, definition, CONFIG)
        family = [c for c in result.comparisons if c.p_adjusted is not None]
        # One comparison per (arm, metric): CUPED where there is a covariate, else the only method.
        keys = [(c.arm, c.metric) for c in family]
        assert len(keys) == len(set(keys)) == len({(c.arm, c.metric) for c in result.comparisons})
        assert len(family) >= 10  # two arms x at least five metrics
        expected = multipletests([c.estimate.p_value for c in family], method=STATSMODELS_NAME[method])[1]
        assert [c.p_adjusted for c in family] == pytest.approx(list(expected), rel=1e-12)
        assert result.correction == method


def test_a_primary_effect_that_does_not_survive_the_correction_is_not_rolled_out() -> None:
    # Net profit up with raw p of about 0.03: significant alone, not after Holm over the family.
    frame = issue_table()
    treated = frame["arm"] == "recommender"
    control_mean = frame.loc[~treated, "net_profit"].mean()
    sd = frame.loc[treated, "net_profit"].std()
    se = np.sqrt(sd**2 / treated.sum() + sd**2 / (~treated).sum())
    shift = control_mean + 2.17 * se - frame.loc[treated, "net_profit"].mean()
    frame.loc[treated, "net_profit"] += shift
    generous = [
        {"metric": "opt_out_rate", "max_harm": 0.05},
        {"metric": "spend_per_member", "max_harm": 18.5},
    ]
    raw = analyze(frame, two_arm_definition(correction="none", guardrails=generous), CONFIG)
    est = raw.comparison("net_profit_per_member", "recommender").estimate
    assert 0.02 < est.p_value < 0.05
    assert raw.verdicts[0].endswith("roll it out.")
    corrected = analyze(frame, two_arm_definition(correction="holm", guardrails=generous), CONFIG)
    comparison = corrected.comparison("net_profit_per_member", "recommender")
    assert comparison.p_adjusted is not None
    assert comparison.p_adjusted >= CONFIG.alpha
    assert "roll it out" not in corrected.verdicts[0]
    assert "correction" in corrected.verdicts[0]


def test_report_shows_adjusted_p_values_beside_raw_ones() -> None:
    text = render_markdown(analyze(issue_table(), two_arm_definition(correction="bh"), CONFIG))
    assert "| p-value | adjusted p (bh) |" in text
