"""Console fixtures: the real serving app (embedded store, hand-built artifacts) with the console mounted,
users of every role, and sign-in helpers. Browser tests run it under uvicorn on a free port."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from engine.console import Accounts, ConsoleConfig, ConsoleDB, load_console_config, with_console
from engine.serve.app import create_app
from engine.serve.settings import Settings
from tests.serve.conftest import (  # noqa: F401  (fixtures)
    WEEK,
    LiveServer,
    artifact_root,
    artifact_template,
    make_settings,
    rules_path,
)

PASSWORD = "correct horse battery"
USERS = {"alice": "marketer", "bob": "marketer", "ana": "analyst", "root": "admin"}
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def console_config(tmp_path: Path) -> ConsoleConfig:
    """The shipped console config with a private database; experiments read from the repository."""
    return load_console_config(database=tmp_path / "console.sqlite3")


@pytest.fixture
def serve_settings(artifact_root: Path, rules_path: Path) -> Settings:  # noqa: F811
    """Serving settings for the test's artifacts and rules file."""
    return make_settings(artifact_root, rules_path)


@pytest.fixture
def console_app(serve_settings: Settings, console_config: ConsoleConfig) -> FastAPI:
    """The serving app with the console at /console, and one user per role (plus a second marketer)."""
    db = ConsoleDB(console_config.database)
    accounts = Accounts(db, console_config)
    for name, role in USERS.items():
        accounts.add_user(name, role, PASSWORD)
    db.close()
    return with_console(create_app(serve_settings), console_config)


@pytest.fixture
def live(console_app: FastAPI) -> Iterator[LiveServer]:
    """The app under uvicorn on a free port (lifespan run: the champion is published)."""
    with LiveServer(console_app) as server:
        yield server


@pytest.fixture
def client(live: LiveServer) -> Iterator[httpx.Client]:
    """An HTTP client of the live app."""
    with httpx.Client(base_url=live.url, timeout=30) as c:
        yield c


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    found = _CSRF.search(html)
    assert found is not None, "page has no CSRF token"
    return found.group(1)


def sign_in(client: httpx.Client, name: str, password: str = PASSWORD) -> str:
    """Sign ``name`` in on ``client``; returns the session's CSRF token."""
    client.cookies.clear()
    page = client.get("/console/login")
    answer = client.post(
        "/console/login",
        data={"name": name, "password": password, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return csrf_of(client.get("/console/rules").text)
