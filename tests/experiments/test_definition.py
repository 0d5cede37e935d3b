"""Experiment definitions: the shipped example loads, and each kind of mistake gets a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from engine.errors import ExperimentError
from engine.experiments.definition import (
    EXPERIMENTS_DIR,
    check_overlaps,
    find_definition,
    load_definition,
    load_definitions,
)
from tests.experiments.conftest import make_definition

EXAMPLE = EXPERIMENTS_DIR / "star_challenge_v1.toml"


def test_shipped_example_loads() -> None:
    d = load_definition(EXAMPLE)
    assert d.arm_names == ("recommender", "baseline", "holdout")
    assert d.control.name == "holdout"
    assert find_definition("star_challenge_v1").salt == d.salt


def test_all_shipped_definitions_are_consistent() -> None:
    assert "star_challenge_v1" in load_definitions()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {
                "arms": [
                    {"name": "a", "policy": "recommender", "weight": 0.6},
                    {"name": "b", "policy": "holdout", "weight": 0.6},
                ]
            },
            "sum to 1",
        ),
        (
            {
                "arms": [
                    {"name": "a", "policy": "recommender", "weight": 0.5},
                    {"name": "a", "policy": "holdout", "weight": 0.5},
                ]
            },
            "unique",
        ),
        (
            {
                "arms": [
                    {"name": "a", "policy": "holdout", "weight": 0.5},
                    {"name": "b", "policy": "holdout", "weight": 0.5},
                ]
            },
            "at most one holdout",
        ),
        (
            {
                "arms": [
                    {"name": "a", "policy": "recommender", "weight": 0.0},
                    {"name": "b", "policy": "holdout", "weight": 1.0},
                ]
            },
            "greater than 0",
        ),
        ({"start_week": 14, "end_week": 13}, "start_week 14 is after end_week 13"),
        ({"arms": [{"name": "a", "policy": "recommender", "weight": 1.0}]}, "at least 2"),
        ({"primary_metric": "happiness"}, "primary_metric"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_invalid_definitions_are_refused(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        make_definition(**overrides)


def test_file_errors_name_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        EXAMPLE.read_text().replace('name = "star_challenge_v1"', 'name = "bad"').replace("0.4", "0.5")
    )
    with pytest.raises(ExperimentError, match=r"(?s)bad\.toml.*arms.*sum to 1"):
        load_definition(path)


def test_name_must_match_file(tmp_path: Path) -> None:
    path = tmp_path / "other.toml"
    path.write_text(EXAMPLE.read_text())
    with pytest.raises(ExperimentError, match="must equal the file name"):
        load_definition(path)


def test_overlapping_experiments_on_same_population_are_refused() -> None:
    a = make_definition()
    b = make_definition(name="exp_b", salt="salt-b", start_week=13, end_week=20)
    with pytest.raises(ExperimentError, match="overlap on population 'members'"):
        check_overlaps([a, b])
    check_overlaps([a, make_definition(name="exp_c", salt="salt-c", start_week=14, end_week=20)])
    check_overlaps([a, make_definition(name="exp_d", salt="salt-d", population="other")])


def test_shared_salt_is_refused() -> None:
    a = make_definition()
    b = make_definition(name="exp_b", population="other")
    with pytest.raises(ExperimentError, match="share the salt"):
        check_overlaps([a, b])


def test_fingerprint_tracks_assignment_inputs_only() -> None:
    a = make_definition()
    assert (
        a.assignment_fingerprint() == make_definition(description="x", end_week=30).assignment_fingerprint()
    )
    reweighted = make_definition(
        arms=[
            {"name": "recommender", "policy": "recommender", "weight": 0.5},
            {"name": "baseline", "policy": "baseline", "weight": 0.2},
            {"name": "holdout", "policy": "holdout", "weight": 0.3},
        ]
    )
    assert a.assignment_fingerprint() != reweighted.assignment_fingerprint()
