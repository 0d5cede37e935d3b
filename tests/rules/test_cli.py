"""The marketer's commands: ``offers rules validate``, ``offers rules preview``, ``offers challenges``."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from engine.artifact import write_artifact
from engine.challenge import FRAME_COLUMNS
from engine.cli import app
from engine.rules.config import DEFAULT_RULES_PATH
from tests.strategies import artifact_from, item
from tests.test_challenge import ITEMS, _member

runner = CliRunner()


@pytest.fixture
def artifact_dir(tmp_path: Path) -> Path:
    members = [
        _member([(1, 0.5), (2, 0.4)], [("SALAD", 4, 0.1)], member_id=1, tier="bronze"),
        _member([(1, 0.6), (3, 0.4)], [("LUNCH", 5, 0.2)], member_id=2, tier="gold"),
        _member([(2, 0.3), (3, 0.3)], [("SALAD", 4, 0.05)], member_id=3, tier="silver"),
    ]
    return write_artifact(artifact_from([*ITEMS, item(8, "X")], members), tmp_path / "art")


def _rules_file(tmp_path: Path, old: str, new: str) -> Path:
    path = tmp_path / "candidate.toml"
    text = DEFAULT_RULES_PATH.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    return path


def test_validate_accepts_the_shipped_rules() -> None:
    result = runner.invoke(app, ["rules", "validate", str(DEFAULT_RULES_PATH)])
    assert result.exit_code == 0, result.output
    assert "valid rules, version" in result.output


def test_validate_explains_every_problem_with_the_rules_exit_code(tmp_path: Path) -> None:
    bad = _rules_file(tmp_path, "max_reward_share = 0.5", "max_reward_share = 1.5\ncolour = 'red'")
    result = runner.invoke(app, ["rules", "validate", str(bad)])
    assert result.exit_code == 2
    assert "2 problem(s)" in result.stderr
    assert "hard_guard.max_reward_share" in result.stderr
    assert "hard_guard.colour" in result.stderr


def test_preview_json_reports_changes_by_tier_and_rule(tmp_path: Path, artifact_dir: Path) -> None:
    # a guard so tight that no reward fits: every offer is withheld by the hard guard
    strict = _rules_file(tmp_path, "max_reward_share = 0.5", "max_reward_share = 0.01")
    result = runner.invoke(app, ["rules", "preview", str(strict), "--artifact", str(artifact_dir), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    overall = report["overall"]
    assert overall["current"]["issued"] == 3
    assert overall["candidate"]["issued"] == 0
    assert overall["candidate"]["withheld_by_reason"] == {"hard_guard": 3}
    assert overall["changed"] == 3
    assert report["changes"] == {"now_withheld": 3}
    assert set(report["by_tier"]) == {"bronze", "silver", "gold"}
    assert overall["current"]["expected_reward_cost"] > 0
    assert overall["candidate"]["expected_profit"] == 0
    assert report["current_version"] != report["candidate_version"]


def test_preview_table_in_the_terminal(tmp_path: Path, artifact_dir: Path) -> None:
    result = runner.invoke(
        app, ["rules", "preview", str(DEFAULT_RULES_PATH), "--artifact", str(artifact_dir)]
    )
    assert result.exit_code == 0, result.output
    assert "offers withheld, by rule" in result.stdout
    assert "candidates removed, by rule" in result.stdout
    assert "members whose challenge changes: 0" in result.stdout
    # says which week it used and where that week comes from (a newcomer saw a bare "week 54")
    assert "the model's challenge week" in result.stdout
    assert "trained on data weeks before" in result.stdout


def test_preview_refuses_bad_candidate_rules(tmp_path: Path, artifact_dir: Path) -> None:
    bad = _rules_file(tmp_path, "[tiers.gold]", "[tiers.platinum]")
    result = runner.invoke(app, ["rules", "preview", str(bad), "--artifact", str(artifact_dir)])
    assert result.exit_code == 2
    assert "platinum" in result.stderr


def test_challenges_from_an_artifact_writes_the_stable_parquet(tmp_path: Path, artifact_dir: Path) -> None:
    out = tmp_path / "out" / "challenges.parquet"
    result = runner.invoke(
        app, ["challenges", "--as-of", "10", "--out", str(out), "--artifact", str(artifact_dir)]
    )
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(out)
    assert tuple(frame.columns[: len(FRAME_COLUMNS)]) == FRAME_COLUMNS
    assert frame["member_id"].tolist() == [1, 2, 3]
    assert set(frame["status"]) <= {"issued", "no_offer"}
    assert (frame["week"] == 10).all()


def test_challenges_refuses_an_artifact_for_another_week(tmp_path: Path, artifact_dir: Path) -> None:
    out = tmp_path / "c.parquet"
    result = runner.invoke(
        app, ["challenges", "--as-of", "11", "--out", str(out), "--artifact", str(artifact_dir)]
    )
    assert result.exit_code != 0
    assert not out.exists()
