"""GrowthBook interoperability: the real GrowthBook SDK assigns members exactly as we do from our export."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from growthbook import GrowthBook
from typer.testing import CliRunner

from engine.cli import app
from engine.experiments.analysis import analyze
from engine.experiments.assignment import arm_for_member
from engine.experiments.config import load_experiments_config
from engine.experiments.definition import ExperimentDefinition
from engine.experiments.growthbook import experiment_document, feature_payload, results_document
from tests.experiments.conftest import make_definition
from tests.experiments.test_analysis import outcome_frame

CONFIG = load_experiments_config().analysis
#: Required keys of GrowthBook's OpenAPI schemas (Experiment.yaml, ExperimentResults.yaml).
EXPERIMENT_KEYS = {
    "id", "dateCreated", "dateUpdated", "name", "project", "hypothesis", "description", "hashAttribute",
    "hashVersion", "tags", "owner", "archived", "status", "autoRefresh", "variations", "phases", "settings",
}  # fmt: skip
PHASE_KEYS = {
    "name", "dateStarted", "dateEnded", "reasonForStopping", "seed", "coverage", "trafficSplit",
    "targetingCondition", "savedGroups",
}  # fmt: skip
RESULT_KEYS = {"id", "dateUpdated", "experimentId", "phase", "dimension", "dateStart", "dateEnd", "settings"}
ANALYSIS_KEYS = {"engine", "numerator", "denominator", "mean", "stddev", "percentChange", "ciLow", "ciHigh"}


def _sdk_arm(payload: dict[str, object], member: str, week: int, tier: str) -> str | None:
    gb = GrowthBook(attributes={"id": member, "week": week, "tier": tier}, features=payload["features"])
    try:
        value = gb.eval_feature(next(iter(payload["features"]))).value  # type: ignore[call-overload]
    finally:
        gb.destroy()
    return None if value is None else str(value)


@pytest.mark.parametrize(
    "definition",
    [
        make_definition(),
        make_definition(tiers=["gold", "diamond"], namespace={"name": "weekly", "start": 0.25, "end": 0.75}),
        make_definition(hash_version=1, salt="v1-salt"),
    ],
    ids=["plain", "tiers+namespace", "hash-v1"],
)
def test_growthbook_sdk_assigns_like_us(definition: ExperimentDefinition) -> None:
    payload = json.loads(json.dumps(feature_payload(definition)))  # through JSON, as an SDK gets it
    tiers = ("bronze", "silver", "gold", "diamond")
    seen = set()
    for m in range(1500):
        member, tier, week = str(m), tiers[m % 4], 9 + m % 6  # weeks 9..14 straddle 10-13
        ours = arm_for_member(definition, member, tier) if definition.covers_week(week) else None
        assert _sdk_arm(payload, member, week, tier) == ours, (member, tier, week)
        seen.add(ours)
    assert seen == {None, *definition.arm_names}


def test_experiment_and_results_documents_have_growthbooks_required_fields() -> None:
    definition = make_definition(sequential=True, namespace={"name": "weekly", "start": 0, "end": 0.5})
    doc = experiment_document(definition)
    assert EXPERIMENT_KEYS - set(doc) == {"dateCreated", "dateUpdated"}  # we have weeks, not dates
    phase = doc["phases"][0]
    assert set(phase) >= PHASE_KEYS
    assert phase["namespace"] == {"namespaceId": "weekly", "range": [0, 0.5]}
    assert [s["weight"] for s in phase["trafficSplit"]] == [0.4, 0.3, 0.3]

    frame = outcome_frame({"recommender": 800, "baseline": 600, "holdout": 600}, effect=3.0)
    result = analyze(frame, definition, CONFIG)
    res = json.loads(json.dumps(results_document(result, frame, definition), allow_nan=False))
    assert set(res) >= RESULT_KEYS
    block = res["results"][0]
    assert block["totalUsers"] == 2000
    assert block["checks"]["srm"] == pytest.approx(result.srm.p_value)
    primary = next(m for m in block["metrics"] if m["metricId"] == "net_profit_per_member")
    rec = next(v for v in primary["variations"] if v["variationId"] == "recommender")
    analysis = rec["analyses"][0]
    assert set(analysis) >= ANALYSIS_KEYS
    rows = frame[frame["arm"] == "recommender"]
    assert analysis["numerator"] == pytest.approx(rows["net_profit"].sum())
    assert analysis["stddev"] == pytest.approx(rows["net_profit"].std())
    comparison = result.comparison("net_profit_per_member", "recommender")
    assert comparison.sequential is not None
    control = comparison.estimate.control_mean
    assert analysis["ciLow"] == pytest.approx(comparison.sequential.ci_low / control)
    assert analysis["pValue"] == pytest.approx(comparison.p_adjusted)
    assert analysis["chanceToBeatControl"] == pytest.approx(result.bayes["recommender"].chance_to_beat)


def test_cli_export_writes_both_definition_documents(tmp_path: Path) -> None:
    out = CliRunner().invoke(app, ["experiment", "export", "star_challenge_v1", "--out", str(tmp_path)])
    assert out.exit_code == 0, out.output
    features = json.loads((tmp_path / "star_challenge_v1.features.json").read_text())
    assert features["features"]["star_challenge_v1"]["rules"][0]["seed"] == "star_challenge_v1-2024a"
    experiment = json.loads((tmp_path / "star_challenge_v1.experiment.json").read_text())
    assert experiment["settings"]["goals"] == [{"metricId": "net_profit_per_member", "overrides": {}}]
