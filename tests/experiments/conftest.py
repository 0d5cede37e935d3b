"""Fixtures for the experiment loop: a small definition and a throw-away SQLite store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.experiments.definition import ExperimentDefinition
from engine.experiments.store import SqliteEventStore


def make_definition(**overrides: object) -> ExperimentDefinition:
    """A valid three-arm definition; keyword arguments replace fields."""
    raw: dict[str, object] = {
        "name": "exp_a",
        "salt": "salt-a",
        "population": "members",
        "start_week": 10,
        "end_week": 13,
        "primary_metric": "net_profit_per_member",
        "arms": [
            {"name": "recommender", "policy": "recommender", "weight": 0.4},
            {"name": "baseline", "policy": "baseline", "weight": 0.3},
            {"name": "holdout", "policy": "holdout", "weight": 0.3},
        ],
        "guardrails": [{"metric": "opt_out_rate", "max_harm": 0.02}],
    }
    raw.update(overrides)
    return ExperimentDefinition.model_validate(raw)


@pytest.fixture
def definition() -> ExperimentDefinition:
    return make_definition()


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "events.sqlite3"


@pytest.fixture
def store(store_path: Path) -> Iterator[SqliteEventStore]:
    with SqliteEventStore(store_path) as s:
        yield s
