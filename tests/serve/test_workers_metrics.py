"""``offers serve --workers 2``: /metrics adds up both worker processes (prometheus multiprocess mode)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client.multiprocess import MultiProcessCollector

from tests.serve.conftest import REDIS_URL, WEEK, delete_prefix, free_port, redis_available

pytestmark = pytest.mark.redis
ROUTE = "/v1/members/{member_id}/challenge"
MEMBERS = 20
ROUNDS = 3
REPO = Path(__file__).resolve().parents[2]


def _value(text: str, pattern: str) -> float:
    found = [float(m.group(1)) for m in re.finditer(pattern + r" ([0-9.e+]+)$", text, re.MULTILINE)]
    return sum(found)


def _challenge_requests_per_worker(folder: Path) -> list[float]:
    counts = []
    for path in sorted(folder.glob("histogram_*.db")):
        for metric in MultiProcessCollector.merge([str(path)], accumulate=True):
            counts += [
                s.value
                for s in metric.samples
                if s.name == "offers_request_seconds_count" and s.labels.get("route") == ROUTE
            ]
    return counts


def test_two_workers_report_the_whole_service(artifact_root: Path, rules_path: Path, tmp_path: Path) -> None:
    if not redis_available():
        pytest.skip("no Redis on 127.0.0.1:6379")
    port = free_port()
    prefix = f"test-workers-{uuid.uuid4().hex[:12]}"
    folder = tmp_path / "metrics"
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "OFFERS_ARTIFACT_ROOT": str(artifact_root),
        "OFFERS_RULES_PATH": str(rules_path),
        "OFFERS_STORE__URL": REDIS_URL,
        "OFFERS_STORE__KEY_PREFIX": prefix,
        "OFFERS_METRICS__MULTIPROCESS_DIR": str(folder),
        "OFFERS_AUTH__METRICS": "open",
        "OFFERS_LOG_LEVEL": "warning",
    }
    cli = "from engine.cli import main; main()"
    command = [sys.executable, "-c", cli, "serve", "--store", "redis", "--workers", "2"]
    server = subprocess.Popen([*command, "--port", str(port), "--publish"], env=env, cwd=tmp_path)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None, "offers serve exited"
            assert time.monotonic() < deadline, "offers serve did not become ready"
            time.sleep(0.2)

        def ask(member: int) -> int:
            # A new connection per request, so the kernel hands requests to both workers.
            return httpx.get(f"{url}/v1/members/{member}/challenge?week={WEEK}", timeout=10).status_code

        sent = 0
        for _ in range(ROUNDS):
            with ThreadPoolExecutor(8) as pool:
                statuses = list(pool.map(ask, [m for m in range(1, MEMBERS + 1) for _ in range(2)]))
            assert set(statuses) == {200}
            sent += len(statuses)
            if sum(1 for c in _challenge_requests_per_worker(folder) if c > 0) >= 2:
                break
        per_worker = _challenge_requests_per_worker(folder)
        assert sum(1 for c in per_worker if c > 0) >= 2, f"one worker took every request: {per_worker}"

        for _ in range(4):  # whichever worker answers /metrics, it reports the whole service
            text = httpx.get(f"{url}/metrics", timeout=10).text
            assert (
                _value(text, rf'offers_request_seconds_count\{{[^}}]*route="{re.escape(ROUTE)}"[^}}]*\}}')
                == sent
            )
            assert _value(text, r"offers_decisions_total\{[^}]*\}") == MEMBERS
    finally:
        server.terminate()
        server.wait(timeout=30)
        delete_prefix(REDIS_URL, prefix)
