"""Guardrails are non-inferiority tests: a guardrail holds only when its CI rules out the allowed harm."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.experiments.analysis import analyze
from engine.experiments.config import load_experiments_config
from engine.experiments.definition import ExperimentDefinition
from engine.experiments.frame import FRAME_COLUMNS
from engine.experiments.report import render_markdown
from tests.experiments.conftest import make_definition

CONFIG = load_experiments_config().analysis
SIZES = {"recommender": 625, "holdout": 550}


def _exact(rng: np.random.Generator, n: int, mean: float, sd: float) -> np.ndarray:
    """``n`` normal draws rescaled to exactly ``mean`` and ``sd`` (so the table's numbers are known)."""
    z = rng.normal(size=n)
    return mean + sd * (z - z.mean()) / z.std(ddof=1)


def issue_table(seed: int = 3) -> pd.DataFrame:
    """The analyst's table of issue 13: net profit clearly up, but two guardrails not shown to hold.

    Opt-out rate 2.0% in the holdout vs 4.8% treated (harm +2.8 points, allowed 2); spend 9 lower
    treated with a CI of about +-9 (harm 9.0, allowed 5). No pre-period covariate, so no CUPED.
    """
    rng = np.random.default_rng(seed)
    parts = []
    arms = (("recommender", 30, 141.0, 45.0), ("holdout", 11, 150.0, 40.0))
    for arm, opt_outs, spend_mean, profit_mean in arms:
        n = SIZES[arm]
        opted = np.zeros(n)
        opted[:opt_outs] = 1.0
        spend = _exact(rng, n, spend_mean, 78.5)
        profit = _exact(rng, n, profit_mean, 10.0)
        parts.append(
            pd.DataFrame(
                {
                    "member_id": [f"{arm}-{i}" for i in range(n)],
                    "arm": arm,
                    "exposures": 4.0,
                    "challenges": 4.0 if arm == "recommender" else 0.0,
                    "completions": 1.0 if arm == "recommender" else 0.0,
                    "spend": spend,
                    "gross_margin": profit + 2.0 * (arm == "recommender"),
                    "reward_cost": 2.0 if arm == "recommender" else 0.0,
                    "net_profit": profit,
                    "opted_out": opted,
                    "pre_spend": 0.0,
                    "habitual_offered": 0.0,
                    "habitual_bought": 0.0,
                    "stretch_offered": 0.0,
                    "stretch_bought": 0.0,
                }
            )
        )
    return pd.concat(parts, ignore_index=True).loc[:, list(FRAME_COLUMNS)]


def two_arm_definition(**overrides: object) -> ExperimentDefinition:
    raw: dict[str, object] = {
        "arms": [
            {"name": "recommender", "policy": "recommender", "weight": 0.5},
            {"name": "holdout", "policy": "holdout", "weight": 0.5},
        ],
        "guardrails": [
            {"metric": "opt_out_rate", "max_harm": 0.02},
            {"metric": "spend_per_member", "max_harm": 5.0},
        ],
    }
    raw.update(overrides)
    return make_definition(**raw)


def test_issue_table_reproduces_the_numbers_and_no_longer_says_roll_out() -> None:
    result = analyze(issue_table(), two_arm_definition(), CONFIG)
    guards = {g.metric: g for g in result.guardrails}
    opt, spend = guards["opt_out_rate"], guards["spend_per_member"]
    # The numbers of the issue: harm +2.8 points (CI 0.8 to 4.9) and 9.0 (CI about 0.09 to 18).
    assert opt.harm == pytest.approx(0.028, abs=1e-9)
    assert (opt.harm_ci_low, opt.harm_ci_high) == pytest.approx((0.008, 0.049), abs=0.001)
    assert spend.harm == pytest.approx(9.0, abs=1e-9)
    assert (spend.harm_ci_low, spend.harm_ci_high) == pytest.approx((0.09, 18.0), abs=0.2)
    # The primary metric alone would say "makes money" ...
    assert result.comparison("net_profit_per_member", "recommender").estimate.ci_low > 0
    # ... but neither guardrail is shown to hold, so the verdict must not say roll out.
    assert opt.status == "breached"
    assert spend.status == "breached"
    verdict = result.verdicts[0]
    assert "roll it out" not in verdict
    assert "opt_out_rate" in verdict
    assert "spend_per_member" in verdict


def test_guardrail_holds_only_when_the_whole_ci_is_below_the_allowed_harm() -> None:
    # Same table with generous limits: both upper bounds (4.9 points, 18) are inside them.
    definition = two_arm_definition(
        guardrails=[
            {"metric": "opt_out_rate", "max_harm": 0.05},
            {"metric": "spend_per_member", "max_harm": 18.5},
        ]
    )
    result = analyze(issue_table(), definition, CONFIG)
    assert {g.status for g in result.guardrails} == {"ok"}
    assert result.verdicts[0].endswith("roll it out.")


def test_the_report_states_the_guardrail_rule() -> None:
    text = render_markdown(analyze(issue_table(), two_arm_definition(), CONFIG))
    assert "non-inferiority" in text
    assert "breached unless" in text
