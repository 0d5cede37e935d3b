"""The replay simulator runs the whole loop and the analysis recovers the lift it injected."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.data.schema import Dataset
from engine.data.synthetic import generate_synthetic
from engine.experiments.assignment import in_namespace
from engine.experiments.config import ExperimentsConfig, load_experiments_config
from engine.experiments.pipeline import RunOutput, simulate_experiment
from engine.experiments.policies import habit_policy, habit_stretch_policy
from engine.experiments.simulator import held_out_weeks
from tests.experiments.conftest import make_definition

REWARD = 2.0


@pytest.fixture(scope="module")
def data() -> Dataset:
    return generate_synthetic(n_members=600, n_items=300, n_weeks=20, seed=7)


def _run(data: Dataset, tmp: Path, lift: float, weeks: int = 3) -> tuple[RunOutput, ExperimentsConfig]:
    cfg = load_experiments_config()
    cfg = cfg.model_copy(
        update={"simulation": cfg.simulation.model_copy(update={"lift": lift, "weeks": weeks})}
    )
    policies = {"recommender": habit_stretch_policy(REWARD), "baseline": habit_policy(3, REWARD)}
    out = simulate_experiment(
        make_definition(),
        data,
        policies,
        held_out_weeks(data, weeks),
        cfg,
        tmp / "sim.sqlite3",
        out_dir=tmp / "report",
        log_mlflow=False,
    )
    return out, cfg


def test_simulation_recovers_the_injected_lift(data: Dataset, tmp_path: Path) -> None:
    out, _ = _run(data, tmp_path, lift=0.3)
    sim = out.simulation
    assert sim is not None
    coverage = sim.coverage()
    assert coverage["recommender.habitual_lift"], sim.lifts
    assert coverage["recommender.stretch_lift"], sim.lifts
    assert coverage["recommender.spend_per_member"]
    assert coverage["recommender.net_profit_per_member"]
    truth = {t.arm: t for t in sim.truth}
    assert truth["recommender"].injected_purchases > 0
    # The pick lift is clearly detected, not just covered by a wide interval.
    assert all(lift.ci_low > 0 for lift in sim.lifts)
    assert (tmp_path / "report" / "report.md").read_text().count("Simulation ground truth") == 1
    assert (tmp_path / "report" / "effects.png").stat().st_size > 0
    growthbook = json.loads((tmp_path / "report" / "growthbook_results.json").read_text())
    assert growthbook["experimentId"] == "exp_a"
    assert growthbook["results"][0]["totalUsers"] == sum(a.members for a in out.analysis.arms)


def test_without_lift_nothing_is_found(data: Dataset, tmp_path: Path) -> None:
    out, _ = _run(data, tmp_path, lift=0.0)
    sim = out.simulation
    assert sim is not None
    assert all(t.injected_purchases == 0 for t in sim.truth)
    for lift in sim.lifts:
        assert lift.ci_low <= 0.0 <= lift.ci_high, lift


@pytest.mark.slow
def test_complete_journey_replay_recovers_the_lift(cj_dataset: Dataset, tmp_path: Path) -> None:
    """The full loop on the real data's last two weeks (light recommender stand-in; ~20 s)."""
    out, _ = _run(cj_dataset, tmp_path, lift=0.3, weeks=2)
    sim = out.simulation
    assert sim is not None
    assert sim.lifts
    assert all(lift.covered for lift in sim.lifts), sim.lifts
    assert not out.analysis.srm.mismatch


def test_simulation_exposes_only_the_targeted_population(data: Dataset, tmp_path: Path) -> None:
    cfg = load_experiments_config()
    policies = {"recommender": habit_stretch_policy(REWARD), "baseline": habit_policy(3, REWARD)}
    namespace = {"name": "ns", "start": 0.0, "end": 0.5}
    definition = make_definition(tiers=["gold", "diamond"], namespace=namespace)
    weeks = held_out_weeks(data, 2)
    out = simulate_experiment(
        definition,
        data,
        policies,
        weeks,
        cfg,
        tmp_path / "s.sqlite3",
        out_dir=tmp_path / "r",
        log_mlflow=False,
    )
    assert definition.namespace is not None
    tiers = dict(zip(data.members["member_id"].astype(str), data.members["tier"], strict=True))
    tx = data.transactions
    active = set(tx.loc[tx["week"] < weeks[0], "member_id"].astype(str))
    eligible = [
        m for m in active if tiers[m] in {"gold", "diamond"} and in_namespace(definition.namespace, m)
    ]
    assert 0 < len(eligible) < 0.5 * len(active)
    assert sum(a.members for a in out.analysis.arms) == len(eligible)
