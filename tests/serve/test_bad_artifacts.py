"""Bad artifacts are refused before they are published; the running model keeps serving."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import redis

from engine.serve.app import create_app
from tests.serve.conftest import (
    ADMIN_KEY,
    REDIS_URL,
    WEEK,
    LiveServer,
    delete_prefix,
    make_settings,
    redis_available,
)

Breaker = Callable[[Path], None]


def _truncate(directory: Path) -> None:
    path = directory / "habitual.parquet"
    path.write_bytes(path.read_bytes()[:100])


def _random_bytes(directory: Path) -> None:
    (directory / "items.parquet").write_bytes(np.random.default_rng(0).bytes(4096))


def _edit(table: str, column: str, value: float) -> Breaker:
    def edit(directory: Path) -> None:
        path = directory / f"{table}.parquet"
        frame = pd.read_parquet(path)
        frame.loc[frame.index[1], column] = value
        frame.to_parquet(path, index=False)

    return edit


BREAKERS: dict[str, tuple[Breaker, str]] = {
    "truncated": (_truncate, "habitual.parquet"),
    "random bytes": (_random_bytes, "items.parquet"),
    "NaN score": (_edit("habitual", "score", float("nan")), "habitual.parquet: column 'score'"),
    "inf score": (_edit("stretch", "score", float("inf")), "stretch.parquet: column 'score'"),
    "negative price": (_edit("items", "price", -4.0), "items.parquet: column 'price'"),
    "negative margin": (_edit("items", "margin_rate", -0.2), "items.parquet: column 'margin_rate'"),
    "NaN expected margin": (
        _edit("stretch", "expected_margin", float("nan")),
        "stretch.parquet: column 'expected_margin'",
    ),
}


def make_bad(artifact_root: Path, version: str, breaker: Breaker) -> None:
    """A copy of v1 named ``version`` (manifest included), then broken."""
    directory = artifact_root / version
    directory.mkdir()
    for path in (artifact_root / "v1").iterdir():
        (directory / path.name).write_bytes(path.read_bytes())
    manifest = json.loads((directory / "manifest.json").read_text())
    manifest["model_version"] = version
    (directory / "manifest.json").write_text(json.dumps(manifest))
    breaker(directory)


@pytest.mark.parametrize("case", list(BREAKERS))
def test_publishing_a_bad_artifact_is_a_422_and_v1_keeps_serving(shared_live: LiveServer, case: str) -> None:
    breaker, where = BREAKERS[case]
    version = f"bad-{uuid.uuid4().hex[:8]}"
    make_bad(_artifact_root(shared_live), version, breaker)
    with shared_live.client() as client:
        answer = client.post(f"/v1/admin/models/{version}:publish")
        ready = client.get("/readyz")
        served = client.get("/v1/members/4/challenge", params={"week": WEEK})
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == "InvalidArtifact"
    assert where in answer.json()["detail"]
    assert ready.json()["model_version"] == "v1"
    assert served.status_code == 200
    assert served.json()["status"] == "issued"
    assert served.json()["model_version"] == "v1"


def _artifact_root(live: LiveServer) -> Path:
    root: Path = live.server.config.app.state.serve.settings.artifact_root
    return root


def test_a_bad_champion_starts_the_service_not_ready_with_the_reason(
    artifact_root: Path, rules_path: Path
) -> None:
    make_bad(artifact_root, "broken", _truncate)
    (artifact_root / "CHAMPION").write_text("broken\n")
    settings = make_settings(artifact_root, rules_path)
    with LiveServer(create_app(settings)) as live, live.client() as client:
        alive = client.get("/healthz")
        not_ready = client.get("/readyz")
        published = client.post("/v1/admin/models/v2:publish")
        ready = client.get("/readyz")
    assert alive.status_code == 200
    assert not_ready.status_code == 503
    assert "broken/habitual.parquet" in not_ready.json()["detail"]
    assert published.status_code == 200
    assert ready.json()["model_version"] == "v2"


@pytest.mark.redis
def test_offers_publish_refuses_a_bad_artifact_with_exit_code_4(artifact_root: Path) -> None:
    if not redis_available():
        pytest.skip("no Redis on 127.0.0.1:6379")
    make_bad(artifact_root, "nan", BREAKERS["NaN score"][0])
    prefix = f"test-bad-{uuid.uuid4().hex[:12]}"
    env = {
        **os.environ,
        "OFFERS_ARTIFACT_ROOT": str(artifact_root),
        "OFFERS_STORE__TYPE": "redis",
        "OFFERS_STORE__URL": REDIS_URL,
        "OFFERS_STORE__KEY_PREFIX": prefix,
        "OFFERS_ADMIN_API_KEY": ADMIN_KEY,
    }
    make_bad(artifact_root, "cut", _truncate)

    def publish(*args: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-c", "from engine.cli import main; main()", "publish", *args]
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)

    try:
        good, nan, cut = publish(), publish("--version", "nan"), publish("--version", "cut")
        current = redis.Redis.from_url(REDIS_URL).get(f"{prefix}:{{m}}:current").split(b"@")[0]
    finally:
        delete_prefix(REDIS_URL, prefix)
    assert good.returncode == 0, good.stderr
    assert current == b"v1"  # the refused versions changed nothing
    for bad, where in ((nan, "nan/habitual.parquet: column 'score'"), (cut, "cut/habitual.parquet")):
        assert bad.returncode == 4, bad.stderr
        assert "Traceback" not in bad.stderr + bad.stdout
        assert "InvalidArtifact" in bad.stderr
        assert where in bad.stderr.replace("\n", "")
