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


def _signals(members: list[int], kinds: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "event_id": [f"s{i}" for i in range(len(members))],
            "member_id": members,
            "kind": kinds,
            "week": [11] * len(members),
            "timestamp": ["2026-03-18T09:00:00+00:00"] * len(members),
        }
    )


def test_cli_import_signals_feeds_the_opt_out_guardrail(
    definition: ExperimentDefinition, tmp_path: Path
) -> None:
    """Issue 12: ``opt_out_rate`` was always 0 because nothing wrote opt-outs; now the importer does."""
    from engine.experiments.analysis import summarize_arm
    from engine.experiments.frame import member_frame

    treated = [m for m in range(200) if assign_arm(definition, m) == "recommender"][:10]
    db = tmp_path / "s.sqlite3"
    with SqliteEventStore(db) as s:
        for m in treated:
            record_exposure(
                s,
                definition,
                "recommender",
                m,
                10,
                ChallengeSnapshot(item_ids=("11", "12", "13"), reward_cost=2),
            )
    path = tmp_path / "signals.csv"
    bad = _signals(treated[:3], ["opt_out", "unsubscribed", "blocked_notifications"])
    bad.to_csv(path, index=False)
    out = CliRunner().invoke(app, ["experiment", "import-signals", str(path), "--store", str(db)])
    assert isinstance(out.exception, DataValidationError), out.output  # exit code 3 under `offers`
    assert "row 2: kind" in out.exception.message
    with SqliteEventStore(db) as s:
        assert s.counts()["opt_outs"] == 0  # nothing of a bad file
    _signals(treated[:3], ["opt_out", "unsubscribe", "blocked_notifications"]).to_csv(path, index=False)
    for _ in range(2):  # a re-run stores nothing new
        out = CliRunner().invoke(app, ["experiment", "import-signals", str(path), "--store", str(db)])
        assert out.exit_code == 0, out.output
    assert "3 signals, 0 new" in " ".join(out.output.split())  # rich wraps long lines
    catalog = pd.DataFrame({"item_id": ["11", "12", "13"], "price": [2.0] * 3, "margin_rate": [0.3] * 3})
    with SqliteEventStore(db) as s:
        assert s.counts()["opt_outs"] == 3
        assert [s.opted_out(m) for m in treated[:3]] == [True, False, False]
        frame = member_frame(s, definition, catalog, pre_period_weeks=0)
    summary = summarize_arm(frame, "recommender", "recommender")
    assert summary.opt_out_rate == pytest.approx(3 / len(treated))
