"""``offers serve`` as a real process and ``offers publish`` into real Redis."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
import redis
from typer.testing import CliRunner

from engine.cli import app
from tests.serve.conftest import REDIS_URL, WEEK, delete_prefix, free_port, redis_available

STARTUP_S = 30


def test_offers_serve_publishes_the_champion_into_the_embedded_store(
    artifact_root: Path, rules_path: Path
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "OFFERS_ARTIFACT_ROOT": str(artifact_root),
        "OFFERS_RULES_PATH": str(rules_path),
        "OFFERS_STORE__TYPE": "embedded",
        "OFFERS_EMBEDDED__PATH": str(rules_path.parent / "serve.sqlite3"),
    }
    cmd = [sys.executable, "-c", "from engine.cli import main; main()", "serve", "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + STARTUP_S
        while True:
            try:
                ready = httpx.get(f"{url}/readyz", timeout=1)
                if ready.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, "offers serve exited early"
            assert time.monotonic() < deadline, "offers serve did not become ready"
            time.sleep(0.1)
        assert ready.json()["model_version"] == "v1"
        r = httpx.get(f"{url}/v1/members/2/challenge", params={"week": WEEK})
        assert r.status_code == 200
        assert r.json()["model_version"] == "v1"
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    logs = err.decode()
    assert '"msg":"model published"' in logs  # structured JSON log lines


@pytest.mark.redis
def test_offers_publish_loads_redis_and_switches(
    artifact_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not redis_available():
        pytest.skip("no Redis on 127.0.0.1:6379")
    prefix = f"test-cli-{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("OFFERS_ARTIFACT_ROOT", str(artifact_root))
    monkeypatch.setenv("OFFERS_STORE__TYPE", "redis")
    monkeypatch.setenv("OFFERS_STORE__URL", REDIS_URL)
    monkeypatch.setenv("OFFERS_STORE__KEY_PREFIX", prefix)
    client = redis.Redis.from_url(REDIS_URL)
    try:
        runner = CliRunner()
        result = runner.invoke(app, ["publish"])
        assert result.exit_code == 0, result.output
        # The pointers name key spaces "<version>@<load>" (engine/serve/redis_store.py).
        assert client.get(f"{prefix}:{{m}}:current").startswith(b"v1@")
        result = runner.invoke(app, ["publish", "--version", "v2"])
        assert result.exit_code == 0, result.output
        assert "previous: v1" in result.output
        current, previous = client.get(f"{prefix}:{{m}}:current"), client.get(f"{prefix}:{{m}}:previous")
        assert (current.split(b"@")[0], previous.split(b"@")[0]) == (b"v2", b"v1")
        assert client.hget(f"{prefix}:m:{current.decode()}", "3") is not None
        result = runner.invoke(app, ["publish", "--version", "nope"])
        assert result.exit_code != 0
    finally:
        client.close()
        delete_prefix(REDIS_URL, prefix)


def test_offers_publish_fills_the_embedded_store_file(
    artifact_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default store works as the README says: no OFFERS_STORE__TYPE=redis needed."""
    from engine.serve.embedded import EmbeddedStore
    from engine.serve.settings import load_settings

    monkeypatch.setenv("OFFERS_ARTIFACT_ROOT", str(artifact_root))
    monkeypatch.setenv("OFFERS_STORE__TYPE", "embedded")
    monkeypatch.setenv("OFFERS_EMBEDDED__PATH", str(tmp_path / "serve.sqlite3"))
    result = CliRunner().invoke(app, ["publish"])
    assert result.exit_code == 0, result.output
    assert "published model v1" in result.output
    assert "after a restart" in result.output  # says how a running service picks it up
    store = EmbeddedStore(load_settings().embedded)
    try:
        assert asyncio.run(store.current_version()) == "v1"
    finally:
        asyncio.run(store.close())


def test_offers_publish_explains_an_in_memory_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.config import CONFIG_DIR

    monkeypatch.setenv("OFFERS_STORE__TYPE", "embedded")
    shipped = (CONFIG_DIR / "serve.toml").read_text().splitlines()
    config = tmp_path / "serve.toml"
    config.write_text("\n".join(line for line in shipped if not line.startswith("path = ")) + "\n")
    result = CliRunner().invoke(app, ["publish", "--config", str(config)])
    assert result.exit_code != 0
    assert "in memory" in str(result.exception)


def test_several_workers_need_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OFFERS_STORE__TYPE", "embedded")
    result = CliRunner().invoke(app, ["serve", "--workers", "2"])
    assert result.exit_code != 0
    assert "Redis store" in str(result.exception)
