"""No credential reaches a caller or a log reader: ``offers serve`` as a real process, Redis away."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from engine.errors import StoreUnavailable
from engine.redaction import RedactingFilter, redact
from engine.serve.hotpath import render_error
from engine.serve.logs import JsonFormatter
from engine.serve.metrics import Metrics
from tests.serve.conftest import ADMIN_KEY, WEEK, free_port

SECRET = "s3cr3t-pa55word"
STARTUP_S = 30


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("redis://:pw@127.0.0.1:6391/0", "redis://***@127.0.0.1:6391/0"),
        ("at rediss://user:pw@host/1 failed", "at rediss://***@host/1 failed"),
        ('{"u":"postgresql://u:p@ss@db:5432/x"}', '{"u":"postgresql://***@db:5432/x"}'),
        ("redis://127.0.0.1:6379/0 has no credential", "redis://127.0.0.1:6379/0 has no credential"),
        ("mail me: a@b.example", "mail me: a@b.example"),
    ],
)
def test_redact_removes_the_userinfo_of_every_url(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_engine_errors_carry_no_credential_in_message_or_body() -> None:
    exc = StoreUnavailable(f"Redis at redis://:{SECRET}@h:1/0 failed", detail={"url": f"redis://:{SECRET}@h"})
    assert SECRET not in exc.message
    assert SECRET not in str(exc)
    assert SECRET not in repr(exc.to_dict())


def test_log_lines_are_redacted_in_message_arguments_extra_fields_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger(f"test.secrets.{uuid.uuid4().hex}")
    logger.addHandler(handler)
    logger.propagate = False
    url = f"redis://:{SECRET}@10.0.0.5:6379/0"
    logger.warning("connecting to %s", url, extra={"url": url})
    try:
        raise ConnectionError(f"cannot reach {url}")
    except ConnectionError:
        logger.exception("failed")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert SECRET not in stream.getvalue()
    assert "redis://***@10.0.0.5:6379/0" in lines[0]
    assert "ConnectionError: cannot reach redis://***@10.0.0.5" in lines[1]


class _Opaque:
    """An object orjson cannot encode, whose text holds a credential."""

    def __str__(self) -> str:
        return f"pool(redis://:{SECRET}@h:1/0)"


def test_error_bodies_redact_objects_rendered_as_text() -> None:
    exc = StoreUnavailable("store away", detail={"pool": _Opaque()})
    status, body = render_error(exc, Metrics((0.1,)), "/x")
    assert status == 503
    assert SECRET not in body.decode()
    assert "redis://***@h:1/0" in body.decode()


def test_no_secret_in_any_answer_or_log_line_when_redis_is_away(
    artifact_root: Path, rules_path: Path
) -> None:
    """Redis with a password on a port where nothing listens: every 503 and every log line stays clean."""
    port, dead = free_port(), free_port()
    env = {
        **os.environ,
        "OFFERS_ARTIFACT_ROOT": str(artifact_root),
        "OFFERS_RULES_PATH": str(rules_path),
        "OFFERS_STORE__TYPE": "redis",
        "OFFERS_STORE__URL": f"redis://:{SECRET}@127.0.0.1:{dead}/0",
        "OFFERS_ADMIN_API_KEY": ADMIN_KEY,
        "OFFERS_LOG_LEVEL": "debug",
    }
    cmd = [sys.executable, "-c", "from engine.cli import main; main()", "serve", "--port", str(port)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    answers: list[httpx.Response] = []
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + STARTUP_S
        while True:
            try:
                httpx.get(f"{url}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None, "offers serve exited early"
                assert time.monotonic() < deadline, "offers serve did not start"
                time.sleep(0.1)
        headers = {"X-API-Key": ADMIN_KEY}
        with httpx.Client(base_url=url, headers=headers, timeout=10) as client:
            answers += [
                client.get("/readyz"),
                client.get("/v1/members/7/challenge"),  # the fast path
                client.get("/v1/members/7/challenge", params={"week": WEEK}),
                client.get("/v1/members/7/challenge?week=10&week=10"),  # the routed path
                client.post("/v1/challenges:batch", json={"member_ids": ["1", "2"], "week": WEEK}),
                client.get("/v1/admin/counters"),
                client.post("/v1/admin/models:rollback"),
                client.post("/v1/admin/models/v2:publish"),
            ]
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=10)
    assert [a.status_code for a in answers[:6]] == [503] * 6
    assert all(a.status_code >= 500 for a in answers[6:])
    for answer in answers:
        assert SECRET not in answer.text, answer.text
        assert SECRET not in str(answer.headers)
    logs = err.decode() + out.decode()
    assert "store unavailable" in logs  # the failures were logged ...
    assert f"127.0.0.1:{dead}" in logs  # ... naming where Redis was expected ...
    assert SECRET not in logs  # ... without the password
