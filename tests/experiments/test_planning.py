"""Planning: MDE from pre-period variance equals statsmodels' power solver; CUPED and weeks shrink it."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.power import NormalIndPower
from typer.testing import CliRunner

from engine.cli import app
from engine.data.schema import Dataset
from engine.data.synthetic import generate_synthetic
from engine.errors import ExperimentError
from engine.experiments.planning import Plan, plan_experiment, render_plan
from tests.experiments.conftest import make_definition

ALPHA, POWER = 0.05, 0.8


@pytest.fixture(scope="module")
def data() -> Dataset:
    return generate_synthetic(n_members=900, n_items=200, n_weeks=24, seed=5)


def _plan(data: Dataset, **overrides: object) -> Plan:
    definition = make_definition(start_week=17, end_week=20, **overrides)
    return plan_experiment(data, definition, alpha=ALPHA, power=POWER, pre_period_weeks=4)


def test_mde_equals_the_power_solver_on_the_pre_period_variance(data: Dataset) -> None:
    plan = _plan(data, primary_metric="spend_per_member", correction="none")
    tx = data.transactions
    window = tx[(tx["week"] >= 9) & (tx["week"] <= 16)]  # 4 outcome weeks + 4 pre-period weeks
    spend = window[window["week"] >= 13].groupby("member_id")["sales_value"].sum()
    y = spend.reindex(window["member_id"].unique(), fill_value=0.0).to_numpy()
    assert plan.members == len(y)
    assert plan.sigma == pytest.approx(y.std(ddof=1))
    arm = next(a for a in plan.arms if a.arm == "recommender" and a.weeks == 4)
    d = NormalIndPower().solve_power(
        nobs1=arm.n_treatment, alpha=ALPHA, power=POWER, ratio=arm.n_control / arm.n_treatment
    )
    # statsmodels also counts rejections in the wrong direction as power: a hair smaller effect.
    assert arm.mde == pytest.approx(d * plan.sigma, rel=1e-5)
    assert arm.n_treatment == round(len(y) * 0.4)


def test_cuped_more_weeks_and_correction_move_the_mde_the_right_way(data: Dataset) -> None:
    plan = _plan(data)
    rec = sorted((a for a in plan.arms if a.arm == "recommender"), key=lambda a: a.weeks)
    assert [a.weeks for a in rec] == [1, 2, 3, 4]
    assert plan.variance_reduction > 0.2
    assert all(a.mde_cuped < a.mde for a in rec)
    # Relative to a week's worth of outcome, more weeks detect a smaller effect per week.
    per_week = [a.mde_cuped / a.weeks for a in rec]
    assert per_week == sorted(per_week, reverse=True)
    uncorrected = _plan(data, correction="none")
    assert plan.family_size == 12  # two treatment arms x six metrics
    assert plan.alpha_per_test == pytest.approx(ALPHA / 12)
    assert rec[-1].mde > next(a for a in uncorrected.arms if a.arm == "recommender" and a.weeks == 4).mde
    assert plan.weeks_needed("recommender", rec[-1].mde_cuped / 4) == 4
    assert plan.weeks_needed("recommender", rec[0].mde_cuped) == 1
    assert plan.weeks_needed("recommender", rec[-1].mde_cuped / 40) is None


def test_sequential_costs_detectable_effect_and_tiers_shrink_the_population(data: Dataset) -> None:
    fixed = _plan(data)
    seq = _plan(data, sequential=True)
    a_fixed = next(a for a in fixed.arms if a.arm == "recommender" and a.weeks == 4)
    a_seq = next(a for a in seq.arms if a.arm == "recommender" and a.weeks == 4)
    assert a_seq.mde_sequential_cuped is not None
    assert a_seq.mde_sequential_cuped > a_fixed.mde_cuped
    gold = _plan(data, tiers=["gold", "diamond"])
    assert 0 < gold.members < fixed.members
    half = _plan(data, namespace={"name": "ns", "start": 0.0, "end": 0.5})
    assert half.members == pytest.approx(fixed.members / 2, abs=1)
    assert "MDE CUPED" in render_plan(seq)
    # Weeks needed follow the sequence's (larger) MDE in a sequential experiment.
    effect = a_fixed.mde_cuped / 4
    assert fixed.weeks_needed("recommender", effect) == 4
    assert seq.weeks_needed("recommender", effect) is None


def test_a_metric_without_pre_period_counterpart_is_refused(data: Dataset) -> None:
    with pytest.raises(ExperimentError, match="completion_rate"):
        _plan(data, primary_metric="completion_rate")
    early = make_definition(start_week=3, end_week=6)
    with pytest.raises(ExperimentError, match="cannot hold"):
        plan_experiment(data, early, alpha=ALPHA, power=POWER, pre_period_weeks=4)


def test_cli_plan_prints_the_table() -> None:
    out = CliRunner().invoke(app, ["experiment", "plan", "star_challenge_v1", "--synthetic", "400"])
    assert out.exit_code == 0, out.output
    assert "Plan for star_challenge_v1" in out.output
    assert "MDE CUPED" in out.output
    assert np.isfinite(float(out.output.split("sd ")[1].split(" ")[0].rstrip(",")))
