"""The service says at start-up (log line and /readyz) when its store would lose data on a restart."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from engine.serve.app import create_app
from engine.serve.redis_store import persistence_warning
from tests.serve.conftest import AOF, NO_PERSISTENCE, LiveServer, ThrowawayRedis, make_settings

WARNING_LOGGER = "engine.serve.recovery"


def readiness(artifact_root: Path, rules_path: Path, **overrides: object) -> dict[str, object]:
    """The /readyz body of an app started with ``overrides``."""
    settings = make_settings(artifact_root, rules_path, **overrides)
    with LiveServer(create_app(settings)) as live, live.client() as client:
        ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    body: dict[str, object] = ready.json()
    return body


def redis_readiness(
    options: tuple[str, ...], tmp_path: Path, artifact_root: Path, rules_path: Path
) -> dict[str, object]:
    """/readyz of an app on a throwaway Redis started with ``options``."""
    server = ThrowawayRedis(tmp_path / "redis", options)
    server.start()
    try:
        store = {"type": "redis", "url": server.url, "key_prefix": "durability"}
        return readiness(artifact_root, rules_path, store=store)
    finally:
        server.kill()


@pytest.mark.redis
def test_redis_without_persistence_is_reported(
    tmp_path: Path, artifact_root: Path, rules_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger=WARNING_LOGGER):
        body = redis_readiness(NO_PERSISTENCE, tmp_path, artifact_root, rules_path)
    warning = str(body["durability_warning"])
    assert "Redis persistence is off" in warning
    assert "appendonly yes" in warning
    logged = [r.getMessage() for r in caplog.records if r.name == WARNING_LOGGER]
    assert any("Redis persistence is off" in line for line in logged), logged


@pytest.mark.redis
def test_redis_with_aof_is_not_reported(tmp_path: Path, artifact_root: Path, rules_path: Path) -> None:
    assert redis_readiness(AOF, tmp_path, artifact_root, rules_path)["durability_warning"] is None


@pytest.mark.redis
def test_redis_with_config_disabled_says_it_cannot_tell(
    tmp_path: Path, artifact_root: Path, rules_path: Path
) -> None:
    options = (*NO_PERSISTENCE, "--rename-command", "CONFIG", "")
    body = redis_readiness(options, tmp_path, artifact_root, rules_path)
    assert "cannot tell whether Redis persists its data" in str(body["durability_warning"])


def test_embedded_store_on_a_file_is_durable_and_in_memory_is_not(
    artifact_root: Path, rules_path: Path
) -> None:
    assert readiness(artifact_root, rules_path)["durability_warning"] is None
    in_memory = readiness(artifact_root, rules_path, embedded={"path": None})
    assert "keeps everything in memory" in str(in_memory["durability_warning"])


def test_rdb_only_is_reported_as_partial() -> None:
    warning = persistence_warning("no", "3600 1 300 100")
    assert warning is not None
    assert "since the last snapshot" in warning
    assert persistence_warning("yes", "") is None
