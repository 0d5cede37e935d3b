"""Bulk import of purchase events, the report writer with MLflow, and the CLI commands."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from engine.cli import app
from engine.errors import Conflict, DataValidationError
from engine.experiments.analysis import analyze
from engine.experiments.assignment import assign_arm
from engine.experiments.config import load_experiments_config
from engine.experiments.definition import ExperimentDefinition
from engine.experiments.events import ChallengeSnapshot
from engine.experiments.importer import import_purchases
from engine.experiments.protocol import EventStore
from engine.experiments.report import log_to_mlflow, write_report
from engine.experiments.service import record_exposure
from engine.experiments.store import SqliteEventStore
from tests.experiments.test_analysis import outcome_frame


def _events(member: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "event_id": ["e1", "e2", "e3"],
            "member_id": [member] * 3,
            "item_id": [11, 12, 13],
            "week": [10, 10, 10],
            "quantity": [1.0, 2.0, 1.0],
            "sales_value": [3.0, 4.0, 5.0],
        }
    )


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_import_completes_a_challenge_once(
    definition: ExperimentDefinition, store: EventStore, tmp_path: Path, suffix: str
) -> None:
    m = next(m for m in range(1000) if assign_arm(definition, m) == "recommender")
    record_exposure(
        store, definition, "recommender", m, 10, ChallengeSnapshot(item_ids=("11", "12", "13"), reward_cost=2)
    )
    path = tmp_path / f"events{suffix}"
    frame = _events(m)
    frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_parquet(path)
    touched = import_purchases(store, path)
    assert [p.reward_issued_now for p in touched] == [True]
    again = import_purchases(store, path)
    assert [p.reward_issued_now for p in again] == [False]
    assert store.counts()["purchases"] == 3
    assert store.counts()["rewards"] == 1


def test_bad_rows_import_nothing(store: EventStore, tmp_path: Path) -> None:
    frame = _events(1)
    frame.loc[1, "quantity"] = -2
    frame.loc[2, "week"] = 0
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(
        DataValidationError, match=r"(?s)2 of 3 event row\(s\) invalid.*row 2: quantity.*row 3: week"
    ):
        import_purchases(store, path)
    assert store.counts()["purchases"] == 0
    frame.drop(columns=["sales_value"]).to_csv(path, index=False)
    with pytest.raises(DataValidationError, match=r"missing column\(s\) \['sales_value'\]"):
        import_purchases(store, path)


def test_conflicting_reimport_rolls_back(store: EventStore, tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    _events(1).to_csv(path, index=False)
    import_purchases(store, path)
    changed = _events(1)
    changed["event_id"] = ["e9", "e2", "e8"]
    changed.loc[1, "sales_value"] = 99.0
    changed.to_csv(path, index=False)
    with pytest.raises(Conflict, match="e2"):
        import_purchases(store, path)
    assert store.counts()["purchases"] == 3


def test_report_and_mlflow_run(definition: ExperimentDefinition, tmp_path: Path) -> None:
    import mlflow

    config = load_experiments_config().analysis
    result = analyze(
        outcome_frame({"recommender": 400, "baseline": 300, "holdout": 300}, effect=3.0), definition, config
    )
    files = write_report(result, tmp_path / "rep")
    assert [f.name for f in files] == ["report.md", "effects.png", "proposed_lifts.toml"]
    text = files[0].read_text()
    assert "## Verdict" in text
    assert "net_profit_per_member" in text
    assert "PROPOSED" in files[2].read_text()
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    run_id = log_to_mlflow(result, uri, "test-experiments", files, {"source": "test"})
    run = mlflow.MlflowClient(tracking_uri=uri).get_run(run_id)
    est = result.comparison("net_profit_per_member", "recommender", "cuped").estimate
    assert run.data.metrics["recommender.net_profit_per_member.cuped.diff"] == pytest.approx(est.diff)


def test_cli_validate_lists_the_shipped_experiment(tmp_path: Path) -> None:
    out = CliRunner().invoke(
        app, ["experiment", "validate", "--store", str(tmp_path / "none.sqlite3")], env={"COLUMNS": "200"}
    )
    assert out.exit_code == 0, out.output
    assert "star_challenge_v1" in out.output


def test_cli_import_events(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    _events(1).to_csv(path, index=False)
    store = tmp_path / "s.sqlite3"
    out = CliRunner().invoke(app, ["experiment", "import-events", str(path), "--store", str(store)])
    assert out.exit_code == 0, out.output
    with SqliteEventStore(store) as s:
        assert s.counts()["purchases"] == 3
