"""Analysis of a member outcome table: numbers equal statsmodels, SRM and guardrails drive the verdict."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from engine.experiments.analysis import analyze
from engine.experiments.config import load_experiments_config
from engine.experiments.definition import ExperimentDefinition
from engine.experiments.frame import FRAME_COLUMNS

CONFIG = load_experiments_config().analysis


def outcome_frame(
    sizes: dict[str, int], effect: float = 0.0, opt_out: float = 0.0, seed: int = 1
) -> pd.DataFrame:
    """A member frame with a known effect on net profit for the non-holdout arms."""
    rng = np.random.default_rng(seed)
    parts = []
    for arm, n in sizes.items():
        treated = arm != "holdout"
        pre = rng.gamma(2.0, 40.0, n)
        spend = 0.9 * pre + rng.normal(0, 25, n) + (4 * effect if treated else 0.0)
        challenges = np.full(n, 4.0 if treated else 0.0)
        completions = rng.binomial(4, 0.2, n) * treated
        reward = 2.0 * completions
        margin = 0.25 * spend + (effect + 2.0 * 0.8 if treated else 0.0)
        parts.append(
            pd.DataFrame(
                {
                    "member_id": [f"{arm}-{i}" for i in range(n)],
                    "arm": arm,
                    "exposures": 4.0,
                    "challenges": challenges,
                    "completions": completions.astype(float),
                    "spend": spend,
                    "gross_margin": margin,
                    "reward_cost": reward,
                    "net_profit": margin - reward,
                    "opted_out": (rng.random(n) < (opt_out if treated else 0.0)).astype(float),
                    "pre_spend": pre,
                    "habitual_offered": 8.0,
                    "habitual_bought": rng.binomial(8, 0.5 if treated else 0.4, n).astype(float),
                    "stretch_offered": 4.0,
                    "stretch_bought": rng.binomial(4, 0.2 if treated else 0.1, n).astype(float),
                }
            )
        )
    return pd.concat(parts, ignore_index=True).loc[:, list(FRAME_COLUMNS)]


def test_welch_numbers_equal_statsmodels(definition: ExperimentDefinition) -> None:
    frame = outcome_frame({"recommender": 800, "baseline": 600, "holdout": 600}, effect=3.0)
    result = analyze(frame, definition, CONFIG)
    for arm in ("recommender", "baseline"):
        t = frame.loc[frame["arm"] == arm, "net_profit"]
        c = frame.loc[frame["arm"] == "holdout", "net_profit"]
        low, high = CompareMeans(DescrStatsW(t), DescrStatsW(c)).tconfint_diff(
            alpha=CONFIG.alpha, usevar="unequal"
        )
        est = result.comparison("net_profit_per_member", arm, "welch").estimate
        assert (est.ci_low, est.ci_high) == pytest.approx((low, high), rel=1e-10)
    summary = {a.arm: a for a in result.arms}
    assert summary["recommender"].members == 800
    assert summary["recommender"].net_profit == pytest.approx(
        frame.loc[frame.arm == "recommender", "net_profit"].mean()
    )
    assert np.isnan(summary["holdout"].completion_rate)


def test_cuped_narrows_the_interval_and_verdict_says_it_makes_money(definition: ExperimentDefinition) -> None:
    frame = outcome_frame({"recommender": 800, "baseline": 600, "holdout": 600}, effect=3.0)
    result = analyze(frame, definition, CONFIG)
    welch = result.comparison("net_profit_per_member", "recommender", "welch")
    cuped = result.comparison("net_profit_per_member", "recommender", "cuped")
    width = lambda c: c.estimate.ci_high - c.estimate.ci_low  # noqa: E731
    assert width(cuped) < 0.6 * width(welch)
    assert cuped.variance_reduction is not None
    assert cuped.variance_reduction > 0.5
    assert "makes money" in result.verdicts[0]
    assert not result.srm.mismatch
    lifts = {lift.kind: lift for lift in result.lifts}
    assert set(lifts) == {"habitual", "stretch"}  # measured for the recommender arm only
    assert lifts["habitual"].absolute.ci_low < 0.1 < lifts["habitual"].absolute.ci_high


def test_no_effect_gives_no_difference_verdict(definition: ExperimentDefinition) -> None:
    # Treated margin rises by 1.6 a member, exactly what the rewards cost on average: no net effect.
    frame = outcome_frame({"recommender": 800, "baseline": 600, "holdout": 600}, effect=0.0)
    result = analyze(frame, definition, CONFIG)
    assert all("no detectable difference" in v for v in result.verdicts)


def test_srm_overrides_the_verdict(definition: ExperimentDefinition) -> None:
    frame = outcome_frame({"recommender": 1100, "baseline": 600, "holdout": 600}, effect=3.0)
    result = analyze(frame, definition, CONFIG)
    assert result.srm.mismatch
    assert all("sample ratio mismatch" in v for v in result.verdicts)


def test_breached_guardrail_stops_the_arm(definition: ExperimentDefinition) -> None:
    frame = outcome_frame({"recommender": 800, "baseline": 600, "holdout": 600}, effect=3.0, opt_out=0.12)
    result = analyze(frame, definition, CONFIG)
    statuses = {g.arm: g.status for g in result.guardrails}
    assert statuses == {"recommender": "breached", "baseline": "breached"}
    assert result.verdicts[0].startswith("recommender: stop")
