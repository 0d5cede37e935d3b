"""Serving fixtures: hand-built artifacts, rules files, stores, and a real uvicorn server per test.

Every HTTP test talks to a real server on a free 127.0.0.1 port (uvicorn in a background thread) through
httpx. Redis tests use the shared server on 6379 under a unique key prefix and delete only their own
keys; outage tests start their own throwaway ``redis-server``.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
import redis
import uvicorn
from fastapi import FastAPI

from engine.artifact import CandidateArtifact, Manifest, write_artifact
from engine.config import CONFIG_DIR
from engine.serve.app import create_app
from engine.serve.embedded import EmbeddedStore
from engine.serve.redis_store import RedisStore, RedisStoreConfig
from engine.serve.settings import Settings, load_settings
from engine.serve.store import Store

REDIS_URL = "redis://127.0.0.1:6379/0"
ADMIN_KEY = "test-admin-key"
#: The point of sale's key (scope purchases) and the messaging platform's (scope signals).
TILL_KEY = "test-till-key-0123456789"
SIGNALS_KEY = "test-signals-key-0123456789"
#: The app backend's key (scope read); configured only by the tests that close reads.
READ_KEY = "test-read-key-0123456789"
TEST_KEYS = [
    {"name": "till", "key": TILL_KEY, "scopes": ["purchases"]},
    {"name": "messaging", "key": SIGNALS_KEY, "scopes": ["signals"]},
]
WEEK = 10
N_CATEGORIES = 8


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def make_artifact(version: str, n_members: int = 20, *, habitual_offset: int = 0) -> CandidateArtifact:
    """Members 1..n with two strong habitual items and stretch candidates in categories they never bought.

    ``habitual_offset`` shifts which items are habitual, so two versions give visibly different
    challenges (the model-switch tests tell versions apart by the picks, not only by the label).
    """
    n_items = 40
    items = pd.DataFrame(
        {
            "item_id": list(range(1, n_items + 1)),
            "name": [f"item {i}" for i in range(1, n_items + 1)],
            "category": [f"CAT{i % N_CATEGORIES}" for i in range(1, n_items + 1)],
            "department": ["GROCERY"] * n_items,
            "price": [4.0] * n_items,
            "margin_rate": [0.35] * n_items,
            "excluded": [False] * n_items,
        }
    )
    category = dict(zip(items["item_id"], items["category"], strict=True))
    habitual, stretch, bought = [], [], []
    for m in range(1, n_members + 1):
        mine = [1 + (m + habitual_offset + k) % n_items for k in range(3)]
        for rank, item_id in enumerate(mine, start=1):
            habitual.append((m, item_id, 0.7 - 0.1 * rank, 5, WEEK - 1, rank))
        cats = {category[i] for i in mine}
        bought.extend((m, c) for c in sorted(cats))
        fresh = [i for i in range(1, n_items + 1) if category[i] not in cats][:2]
        for rank, item_id in enumerate(fresh, start=1):
            stretch.append((m, category[item_id], 0.2, item_id, 0.2 * 1.4, rank))
    return CandidateArtifact(
        manifest=Manifest(version, WEEK, WEEK, "2026-01-01T00:00:00+00:00", "test"),
        habitual=pd.DataFrame(
            habitual, columns=["member_id", "item_id", "score", "n_baskets", "last_week", "rank"]
        ),
        stretch=pd.DataFrame(
            stretch,
            columns=["member_id", "category", "score", "suggested_item_id", "expected_margin", "rank"],
        ),
        items=items,
        members=pd.DataFrame(
            {
                "member_id": list(range(1, n_members + 1)),
                "tier": ["bronze"] * n_members,
                "spend_52w": [500.0] * n_members,
                "last_week": [WEEK - 1] * n_members,
            }
        ),
        member_categories=pd.DataFrame(bought, columns=["member_id", "category"]),
        popular_items=pd.DataFrame({"item_id": [5, 6, 7], "score": [0.6, 0.5, 0.4], "rank": [1, 2, 3]}),
        popular_categories=pd.DataFrame(
            {"category": ["CAT0"], "score": [0.2], "suggested_item_id": [8], "rank": [1]}
        ),
    )


def write_rules(path: Path, *, stars: int = 25, budget: float = 500.0, text: str | None = None) -> None:
    """The shipped rules with the bronze reward and weekly budget set (or ``text`` verbatim)."""
    if text is None:
        text = (CONFIG_DIR / "rules.toml").read_text()
        text = text.replace("[tiers.bronze]\nstars = 25", f"[tiers.bronze]\nstars = {stars}")
        text = text.replace("weekly_expected_cost = 500.0", f"weekly_expected_cost = {budget}")
        assert f"stars = {stars}" in text
        assert f"weekly_expected_cost = {budget}" in text
    path.write_text(text)


@pytest.fixture(scope="session")
def artifact_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Written once: v1 (champion) and v2 (different habitual picks)."""
    root = tmp_path_factory.mktemp("artifact-template")
    write_artifact(make_artifact("v1"), root / "v1")
    write_artifact(make_artifact("v2", habitual_offset=7), root / "v2")
    (root / "CHAMPION").write_text("v1\n")
    return root


@pytest.fixture
def artifact_root(artifact_template: Path, tmp_path: Path) -> Path:
    """A private copy of the template (tests may add versions)."""
    return Path(shutil.copytree(artifact_template, tmp_path / "artifacts"))


@pytest.fixture
def rules_path(tmp_path: Path) -> Path:
    """A valid rules file the test may rewrite."""
    path = tmp_path / "rules.toml"
    write_rules(path)
    return path


def make_settings(artifact_root: Path, rules_path: Path, **overrides: Any) -> Settings:
    """Test settings: admin, till and signals keys set (reads anonymous), champion published at start,
    rules checked on every request.

    The embedded store gets a file of its own beside ``rules_path`` (a test's temporary folder), so no
    two apps share state unless a test passes the same ``embedded`` options to both (a restart).
    """
    values: dict[str, Any] = {
        "artifact_root": artifact_root,
        "rules_path": rules_path,
        "admin_api_key": ADMIN_KEY,
        "auth": {"keys": TEST_KEYS, "metrics": "open"},
        "publish_on_start": "always",
        "rules_check_interval_s": 0.0,
        "log_level": "warning",
        "embedded": {"path": str(rules_path.parent / f"serve-{uuid.uuid4().hex[:12]}.sqlite3")},
    }
    values.update(overrides)
    return load_settings(**values)


@pytest.fixture
def settings(artifact_root: Path, rules_path: Path) -> Settings:
    """Settings for the embedded store."""
    return make_settings(artifact_root, rules_path)


class LiveServer:
    """uvicorn serving ``app`` in a background thread on a free port."""

    def __init__(self, app: FastAPI) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on", access_log=False
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("test server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    def client(self, key: str = ADMIN_KEY) -> httpx.Client:
        """A keep-alive client sending ``key`` (default: the admin key)."""
        return httpx.Client(base_url=self.url, headers={"X-API-Key": key}, timeout=10)


def redis_available() -> bool:
    """Whether the shared Redis answers on 6379."""
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


def delete_prefix(url: str, prefix: str) -> None:
    """Delete this test's keys only (never FLUSHDB: other tests and helpers share the server)."""
    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture(params=["embedded", pytest.param("redis", marks=pytest.mark.redis)])
def store_kind(request: pytest.FixtureRequest) -> str:
    """Run a test once against each store."""
    kind: str = request.param
    if kind == "redis" and not redis_available():
        pytest.skip("no Redis on 127.0.0.1:6379")
    return kind


@pytest.fixture
def server_settings(store_kind: str, artifact_root: Path, rules_path: Path) -> Iterator[Settings]:
    """Settings for ``store_kind``; Redis keys live under a unique prefix, deleted afterwards."""
    if store_kind == "embedded":
        yield make_settings(artifact_root, rules_path)
        return
    prefix = f"test-serve-{uuid.uuid4().hex[:12]}"
    yield make_settings(
        artifact_root, rules_path, store={"type": "redis", "url": REDIS_URL, "key_prefix": prefix}
    )
    delete_prefix(REDIS_URL, prefix)


@pytest.fixture(scope="module", params=["embedded", pytest.param("redis", marks=pytest.mark.redis)])
def shared_live(
    request: pytest.FixtureRequest, artifact_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """One server per module and store, for tests that do not depend on each other's state."""
    if request.param == "redis" and not redis_available():
        pytest.skip("no Redis on 127.0.0.1:6379")
    tmp = tmp_path_factory.mktemp("shared-live")
    root = Path(shutil.copytree(artifact_template, tmp / "artifacts"))
    write_rules(tmp / "rules.toml")
    prefix = f"test-serve-{uuid.uuid4().hex[:12]}"
    store = {"type": "redis", "url": REDIS_URL, "key_prefix": prefix} if request.param == "redis" else {}
    settings = make_settings(root, tmp / "rules.toml", **({"store": store} if store else {}))
    with LiveServer(create_app(settings)) as server:
        yield server
    if store:
        delete_prefix(REDIS_URL, prefix)


@pytest.fixture
def live(server_settings: Settings) -> Iterator[LiveServer]:
    """A running server for ``server_settings`` with the champion (v1) published."""
    with LiveServer(create_app(server_settings)) as server:
        yield server


def new_store(settings: Settings) -> Store:
    """A store for ``settings`` (for tests that inspect or change it beside the server)."""
    if isinstance(settings.store, RedisStoreConfig):
        return RedisStore(settings.store)
    return EmbeddedStore()


#: A throwaway Redis that keeps nothing across a restart.
NO_PERSISTENCE = ("--save", "", "--appendonly", "no")
#: A throwaway Redis with the append-only file the README asks for in production.
AOF = ("--save", "", "--appendonly", "yes", "--appendfsync", "everysec")


class ThrowawayRedis:
    """A private ``redis-server`` on a free port (no persistence unless ``options`` say otherwise).

    Its files (an AOF, if enabled) live in ``workdir``, so a restart on the same port finds them.
    """

    def __init__(self, workdir: Path, options: tuple[str, ...] = NO_PERSISTENCE) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.options = options
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start (or restart on the same port) and wait until it answers."""
        binary = shutil.which("redis-server")
        assert binary is not None, "redis-server is not installed"
        self.workdir.mkdir(parents=True, exist_ok=True)
        where = ("--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.workdir))
        self.proc = subprocess.Popen(
            [binary, *where, *self.options],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except (redis.AuthenticationError, redis.ResponseError):
                break  # up, and wants a password (--requirepass)
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        client.close()

    def kill(self) -> None:
        """Stop the server at once."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None


@pytest.fixture
def throwaway_redis(tmp_path: Path) -> Iterator[ThrowawayRedis]:
    """Our own Redis server without persistence, killed at the end whatever happens."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = ThrowawayRedis(tmp_path / "redis")
    server.start()
    yield server
    server.kill()


def run(coro: Any) -> Any:
    """Run one coroutine to completion (store tests outside a server)."""
    return asyncio.run(coro)
