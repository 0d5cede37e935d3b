"""A challenge record the online store lost is served again from the experiment event store.

Redis without persistence (a private ``redis-server``) holds the online store; the experiment event store
is a SQLite file that survives. Whether one key is deleted or Redis restarts empty, every member gets
back the very challenge first served, so the app, progress and reward agree.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from engine.serve.app import create_app
from tests.serve.conftest import (
    REDIS_URL,
    WEEK,
    LiveServer,
    ThrowawayRedis,
    delete_prefix,
    make_settings,
    redis_available,
)
from tests.serve.test_experiments import DEFINITION, EXPERIMENT, MEMBERS, challenge

pytestmark = pytest.mark.redis

PREFIX = "lost-record"
#: Republishing the tiny test champion takes well under a second; seconds on a loaded machine.
RECOVERY_S = 10.0


@pytest.fixture
def definition_path(tmp_path: Path) -> Path:
    """The test experiment of ``test_experiments`` (weeks WEEK-1..WEEK+1, with a holdout)."""
    path = tmp_path / "experiments" / f"{EXPERIMENT}.toml"
    path.parent.mkdir()
    path.write_text(DEFINITION)
    return path


def answers(live: LiveServer) -> dict[int, dict[str, Any]]:
    """Every test member's answer for WEEK (challenge or no-offer, with its progress)."""
    return {m: challenge(live, m) for m in MEMBERS}


def settle(live: LiveServer) -> None:
    """Wait until the service answers again after Redis came back empty (it republishes by itself)."""
    deadline = time.monotonic() + RECOVERY_S
    with live.client() as client:
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, "no recovery after Redis came back empty"
            time.sleep(0.05)


@pytest.fixture(params=["sqlite-thread", "sqlite-inline", "redis-inline"])
def events(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[dict[str, Any] | None, str]]:
    """The experiment event store (None: SQLite under tmp_path) and how exposures are written.

    ``redis-inline`` keeps events in the shared, persistent Redis (unique prefix, deleted afterwards) and
    reads and writes them over the serving layer's lean connection.
    """
    kind, writes = str(request.param).split("-")
    if kind == "sqlite":
        yield None, writes
        return
    if not redis_available():
        pytest.skip("no Redis on 127.0.0.1:6379")
    prefix = f"test-lost-events-{uuid.uuid4().hex[:12]}"
    yield {"type": "redis", "url": REDIS_URL, "prefix": prefix, "busy_timeout_s": 2.0}, writes
    delete_prefix(REDIS_URL, prefix)


def test_a_lost_record_is_served_again_as_first_served(
    throwaway_redis: ThrowawayRedis,
    artifact_root: Path,
    rules_path: Path,
    definition_path: Path,
    tmp_path: Path,
    events: tuple[dict[str, Any] | None, str],
) -> None:
    events_store, writes = events
    sqlite = {
        "type": "sqlite",
        "path": str(tmp_path / "events.sqlite3"),
        "synchronous": "FULL",
        "busy_timeout_s": 5.0,
    }
    experiments = {
        "definitions": [str(definition_path)],
        "store": events_store or sqlite,
        "max_events": 50,
        "progress_cache_entries": 1000,
        "exposure_writes": writes,
    }
    store = {"type": "redis", "url": throwaway_redis.url, "key_prefix": PREFIX}
    settings = make_settings(artifact_root, rules_path, experiments=experiments, store=store)
    client = redis.Redis.from_url(throwaway_redis.url)
    with LiveServer(create_app(settings)) as live:
        first = answers(live)
        assert sum(a["status"] == "issued" for a in first.values()) >= 5
        for member in MEMBERS:
            assert client.delete(f"{PREFIX}:issued:{WEEK}:{member}") == 1
        assert answers(live) == first
        assert all(client.exists(f"{PREFIX}:issued:{WEEK}:{m}") for m in MEMBERS)

        throwaway_redis.kill()
        throwaway_redis.start()
        settle(live)
        assert answers(live) == first
    client.close()
