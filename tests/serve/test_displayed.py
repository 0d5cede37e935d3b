"""POST /v1/members/{member_id}/challenge/displayed through real HTTP: display reports reach the log."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.experiments.definition import ExperimentDefinition, load_definition
from engine.experiments.displays import SqliteDisplayLog
from engine.serve.app import create_app
from engine.serve.settings import Settings
from tests.serve.conftest import WEEK, LiveServer, make_settings
from tests.serve.test_experiments import DEFINITION, EXPERIMENT, challenge, experiment_settings, member_in

Setup = tuple[Settings, ExperimentDefinition, Path]


@pytest.fixture
def setup(
    tmp_path: Path, artifact_root: Path, rules_path: Path
) -> tuple[Settings, ExperimentDefinition, Path]:
    """Settings running the test experiment, its definition and the event store file."""
    path = tmp_path / "experiments" / f"{EXPERIMENT}.toml"
    path.parent.mkdir()
    path.write_text(DEFINITION)
    db = tmp_path / "state" / "events.sqlite3"
    return experiment_settings(artifact_root, rules_path, path, db), load_definition(path), db


def test_a_display_is_recorded_in_the_members_arm(setup: Setup) -> None:
    settings, definition, events_db = setup
    member = member_in(definition, "holdout")
    with LiveServer(create_app(settings)) as live, live.client() as client:
        assert challenge(live, member)["arm"] == "holdout"  # the fetch
        first = client.post(f"/v1/members/{member}/challenge/displayed", params={"week": WEEK})
        again = client.post(f"/v1/members/{member}/challenge/displayed", params={"week": WEEK})
        outside = client.post(f"/v1/members/{member}/challenge/displayed", params={"week": WEEK + 5})
        bad = client.post("/v1/members/007/challenge/displayed", params={"week": WEEK})
    assert first.status_code == again.status_code == 200, first.text
    assert first.json() == {
        "member_id": str(member),
        "week": WEEK,
        "experiment": definition.name,
        "arm": "holdout",
    }
    assert outside.status_code == 200 or outside.status_code == 422  # past the served weeks: refused
    assert bad.status_code == 422
    log = SqliteDisplayLog(events_db)
    try:
        rows = log.table()
    finally:
        log.close()
    assert rows[["member_id", "week", "arm", "displays"]].values.tolist() == [
        [str(member), WEEK, "holdout", 2]
    ]


def test_without_experiments_the_route_is_not_found(artifact_root: Path, rules_path: Path) -> None:
    settings: Settings = make_settings(artifact_root, rules_path)
    with LiveServer(create_app(settings)) as live, live.client() as client:
        r = client.post("/v1/members/1/challenge/displayed", params={"week": WEEK})
    assert r.status_code == 404
    assert "experiment" in r.json()["detail"] or "experiment" in r.json()["error"]
