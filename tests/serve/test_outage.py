"""Redis goes away and comes back: fast 503s with a clear body, then recovery without a restart.

Uses a private throwaway ``redis-server`` (never the shared one on 6379).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from engine.serve.app import create_app
from tests.serve.conftest import NO_PERSISTENCE, WEEK, LiveServer, ThrowawayRedis, make_settings

pytestmark = pytest.mark.redis

#: Generous on a loaded 2-core machine; an unbounded wait (client retries, long timeouts) takes seconds.
FAST_S = 1.0
#: Republishing the 20-member test champion takes well under a second; seconds on a loaded machine.
RECOVERY_S = 10.0


def test_outage_gives_fast_503_and_recovers(
    throwaway_redis: ThrowawayRedis, artifact_root: Path, rules_path: Path
) -> None:
    settings = make_settings(
        artifact_root,
        rules_path,
        store={"type": "redis", "url": throwaway_redis.url, "key_prefix": "outage"},
    )
    with LiveServer(create_app(settings)) as live, live.client() as client:
        path = "/v1/members/{}/challenge"
        assert client.get(path.format(1), params={"week": WEEK}).status_code == 200

        throwaway_redis.kill()
        for member in (1, 2, 3):
            start = time.monotonic()
            r = client.get(path.format(member), params={"week": WEEK})
            assert time.monotonic() - start < FAST_S
            assert r.status_code == 503
            body = r.json()
            assert body["error"] == "StoreUnavailable"
            assert "Redis" in body["detail"]
        assert client.get("/readyz").status_code == 503
        assert client.get("/healthz").status_code == 200
        assert "offers_store_unavailable_total 4.0" in client.get("/metrics").text

        # Back on the same port, empty (no persistence): the very next request reaches it again, finds
        # no model and starts republishing the champion; nobody publishes by hand.
        throwaway_redis.start()
        first = client.get(path.format(2), params={"week": WEEK})
        assert first.status_code == 503
        assert "republishing champion after store came back empty" in first.json()["detail"]
        ready = client.get("/readyz")  # says the same until the republish is done
        assert ready.status_code == 200 or "republishing champion" in ready.json()["detail"], ready.text
        start = time.monotonic()
        while (r := client.get(path.format(2), params={"week": WEEK})).status_code != 200:
            assert r.status_code == 503
            assert time.monotonic() - start < RECOVERY_S, r.text
            time.sleep(0.05)
        assert r.json()["model_version"] == "v1"
        assert client.get("/readyz").status_code == 200


def test_no_password_in_any_answer_or_log_line_through_an_outage(
    tmp_path: Path, artifact_root: Path, rules_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "s3cret-pw-4711"
    server = ThrowawayRedis(tmp_path / "redis", ("--requirepass", secret, *NO_PERSISTENCE))
    server.start()
    url = f"redis://:{secret}@127.0.0.1:{server.port}/0"
    settings = make_settings(
        artifact_root, rules_path, store={"type": "redis", "url": url, "key_prefix": "pw"}
    )
    bodies = []
    try:
        with (
            caplog.at_level(logging.DEBUG),
            LiveServer(create_app(settings)) as live,
            live.client() as client,
        ):
            path = "/v1/members/{}/challenge"
            bodies.append(client.get(path.format(1), params={"week": WEEK}))
            server.kill()
            bodies += [client.get(path.format(2), params={"week": WEEK}), client.get("/readyz")]
            server.start()  # empty: the service republishes by itself
            start = time.monotonic()
            while (r := client.get(path.format(3), params={"week": WEEK})).status_code != 200:
                bodies.append(r)
                assert time.monotonic() - start < RECOVERY_S, r.text
                time.sleep(0.05)
            bodies += [r, client.get("/readyz")]
    finally:
        server.kill()
    assert {r.status_code for r in bodies} == {200, 503}
    assert not [r.text for r in bodies if secret in r.text]
    assert not [str(rec.__dict__) for rec in caplog.records if secret in str(rec.__dict__)]
