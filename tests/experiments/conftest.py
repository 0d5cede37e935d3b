"""Fixtures for the experiment loop: a small definition and a throw-away SQLite store."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from uuid import uuid4

import pytest

from engine.experiments.definition import ExperimentDefinition
from engine.experiments.protocol import EventStore
from engine.experiments.store import SqliteEventStore

REDIS_URL = "redis://127.0.0.1:6379/0"
StoreFactory = Callable[[str], EventStore]


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


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """Open a store by name; the same name reopens the same data (a restart). Run on both backends."""
    opened: list[EventStore] = []
    run = uuid4().hex
    client = None
    if request.param == "redis":
        import redis

        from engine.experiments.redis_store import RedisEventStore

        client = redis.Redis.from_url(REDIS_URL)

    def factory(name: str) -> EventStore:
        store: EventStore
        if request.param == "redis":
            store = RedisEventStore(redis.Redis.from_url(REDIS_URL), f"test-offers-exp:{run}:{name}")
        else:
            store = SqliteEventStore(tmp_path / f"{name}.sqlite3")
        opened.append(store)
        return store

    yield factory
    for store in opened:
        store.close()
    if client is not None:
        # Remove only this test's keys (never FLUSHDB: the server is shared).
        keys = list(client.scan_iter(match=f"test-offers-exp:{run}:*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()


@pytest.fixture
def store(make_store: StoreFactory) -> EventStore:
    return make_store("main")
