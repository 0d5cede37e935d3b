"""Fault suite: kill things under load and measure what the members and the operator see.

Each scenario starts its own ``redis-server`` (temp dir, own port) where it needs one and ``offers serve``
as a subprocess (uvicorn, one worker), drives ``--seconds`` of fixed-rate load (open loop, like
``bench_serve.py``): a mix of first issuances (members never asked before) and repeat reads (members
already answered), and injects one fault at ``--fault-at`` seconds:

    redis-noaof              kill -9 Redis (no persistence) and restart it at once: it comes back empty
    redis-noaof-experiment   the same with an experiment running (SQLite event store on local disk)
    redis-aof                kill -9 Redis with ``appendonly yes``, ``appendfsync everysec``; restart
    service-embedded         kill -9 the service on the embedded store (SQLite file) and start it again
    service-redis            kill -9 the service on Redis (AOF) and start it again

Per scenario it prints: requests, errors (non-200 answers and connection failures), the time from the
fault to the first error and to recovery (the first 200 after the last error), how many members' answers
changed (a repeat read that differs from the member's first answer), latency p50/p99, and the service's
RSS before the fault and at the end (after a service restart: of the new process).

Usage
    .venv/bin/python benchmarks/bench_faults.py                          # every scenario, 60 s each
    .venv/bin/python benchmarks/bench_faults.py --seconds 20 --scenarios redis-aof service-embedded
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
from bench_serve import WEEK, build_artifact, free_port

from engine.artifact import write_artifact
from engine.config import CONFIG_DIR

SCENARIOS = ("redis-noaof", "redis-noaof-experiment", "redis-aof", "service-embedded", "service-redis")
CONNECTIONS = 64
STARTUP_S = 60.0
REQUEST_TIMEOUT_S = 5.0
RECONNECT_PAUSE_S = 0.05
EXPERIMENT = """
name = "fault_suite"
salt = "fault-suite-{salt}"
population = "loyalty_members"
start_week = {week}
end_week = {week}
primary_metric = "net_profit_per_member"

[[arms]]
name = "recommender"
policy = "recommender"
weight = 0.4

[[arms]]
name = "baseline"
policy = "baseline"
weight = 0.3

[[arms]]
name = "holdout"
policy = "holdout"
weight = 0.3
"""


class Redis:
    """A private ``redis-server`` in ``workdir`` on ``port``."""

    def __init__(self, workdir: Path, aof: bool) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.workdir = workdir
        self.options = ["--save", ""] + (
            ["--appendonly", "yes", "--appendfsync", "everysec"] if aof else ["--appendonly", "no"]
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start and wait until it answers PING."""
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is not installed")
        self.workdir.mkdir(parents=True, exist_ok=True)
        where = ["--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.workdir)]
        self.proc = subprocess.Popen(
            [binary, *where, *self.options], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        import redis

        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
        client.close()

    def kill(self) -> None:
        """kill -9."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


class Service:
    """``offers serve`` as a subprocess with ``env``; the same port across restarts."""

    def __init__(self, env: dict[str, str], config: Path | None) -> None:
        self.port = free_port()
        self.env = env
        self.config = config
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, wait: bool = True) -> None:
        """Start; with ``wait``, until /readyz answers 200."""
        cmd = [sys.executable, "-c", "from engine.cli import main; main()", "serve", "--port", str(self.port)]
        if self.config is not None:
            cmd += ["--config", str(self.config)]
        self.proc = subprocess.Popen(cmd, env=self.env)
        if wait:
            deadline = time.monotonic() + STARTUP_S
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise SystemExit("service exited during start-up")
                try:
                    if httpx.get(f"http://127.0.0.1:{self.port}/readyz", timeout=1).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
            raise SystemExit("service did not become ready")

    def kill(self) -> None:
        """kill -9."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def stop(self) -> None:
        """SIGTERM and wait."""
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=20)
            self.proc = None

    def rss_mb(self) -> float:
        """Resident memory of the service process (MB)."""
        if self.proc is None:
            return float("nan")
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")


@dataclass
class Outcome:
    """What one scenario measured (times in seconds from the fault)."""

    name: str
    requests: int = 0
    errors: int = 0
    first_error_s: float | None = None
    first_error: str = ""
    recovered_s: float | None = None
    changed: int = 0
    compared: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    rss_before_mb: float = float("nan")
    rss_after_mb: float = float("nan")


class Load:
    """Open-loop load: request k is due at start + k/rate; even k first issuances, odd k repeat reads."""

    def __init__(self, port: int, rate: float, seconds: float, seed: int = 0) -> None:
        self.port = port
        self.rate = rate
        self.n = int(rate * seconds)
        self.rng = random.Random(seed)
        self.next_member = 1
        self.answered: list[int] = []
        self.first: dict[int, bytes] = {}
        self.changed: set[int] = set()
        self.compared = 0
        # (completion time, ok, what) of every request
        self.results: list[tuple[float, bool, str]] = []
        self.latencies_ms: list[float] = []
        self.claimed = 0

    def _path(self, k: int) -> int:
        if k % 2 == 0 or not self.answered:
            self.next_member += 1
            return self.next_member - 1
        return self.rng.choice(self.answered)

    async def _get(
        self, conn: tuple[asyncio.StreamReader, asyncio.StreamWriter], member: int
    ) -> tuple[int, bytes]:
        reader, writer = conn
        path = f"/v1/members/{member}/challenge?week={WEEK}"
        writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        return status, await reader.readexactly(length)

    async def _worker(self, start: float) -> None:
        conn: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        while self.claimed < self.n:
            k = self.claimed
            self.claimed += 1
            due = start + k / self.rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            member = self._path(k)
            try:
                if conn is None:
                    conn = await asyncio.open_connection("127.0.0.1", self.port)
                status, body = await asyncio.wait_for(self._get(conn, member), REQUEST_TIMEOUT_S)
            except (OSError, asyncio.IncompleteReadError, TimeoutError) as exc:
                self.results.append((time.perf_counter(), False, type(exc).__name__))
                if conn is not None:
                    conn[1].close()
                conn = None
                await asyncio.sleep(RECONNECT_PAUSE_S)
                continue
            done = time.perf_counter()
            self.latencies_ms.append((done - due) * 1000)
            if status != 200:
                self.results.append((done, False, f"{status}"))
                continue
            self.results.append((done, True, "200"))
            before = self.first.get(member)
            if before is None:
                self.first[member] = body
                self.answered.append(member)
            else:
                self.compared += 1
                if body != before:
                    self.changed.add(member)
        if conn is not None:
            conn[1].close()

    async def run(self, fault_at: float, fault: asyncio.Future[float]) -> float:
        """Drive the load; returns its start time (``perf_counter``)."""
        start = time.perf_counter() + 0.05
        loop = asyncio.get_running_loop()
        loop.call_later(fault_at, lambda: fault.set_result(time.perf_counter()))
        await asyncio.gather(*(self._worker(start) for _ in range(CONNECTIONS)))
        return start


async def drive(load: Load, fault_at: float, inject: object) -> float:
    """Run the load and, ``fault_at`` seconds in, the fault (a blocking callable, in a thread)."""
    loop = asyncio.get_running_loop()
    fault: asyncio.Future[float] = loop.create_future()

    async def injector() -> float:
        at = await fault
        await asyncio.to_thread(inject)  # type: ignore[arg-type]
        return at

    running = asyncio.create_task(injector())
    await load.run(fault_at, fault)
    return await running


def summarise(name: str, load: Load, fault_t: float) -> Outcome:
    """The outcome of a scenario whose fault was injected at ``fault_t``."""
    out = Outcome(name, requests=len(load.results), latencies_ms=load.latencies_ms)
    failures = sorted((done, what) for done, ok, what in load.results if not ok)
    out.errors = len(failures)
    out.changed, out.compared = len(load.changed), load.compared
    if failures:
        out.first_error_s = failures[0][0] - fault_t
        out.first_error = failures[0][1]
        last = failures[-1][0]
        after = [done for done, ok, _ in load.results if ok and done > last]
        out.recovered_s = (min(after) - fault_t) if after else None
    return out


def run_scenario(name: str, args: argparse.Namespace, root: Path, tmp: Path) -> Outcome:
    """Set up, load, inject, measure, tear down."""
    env = {
        **os.environ,
        "OFFERS_ARTIFACT_ROOT": str(root),
        "OFFERS_RULES_PATH": str(CONFIG_DIR / "rules.toml"),
        "OFFERS_LOG_LEVEL": "error",
        "OFFERS_EMBEDDED__PATH": str(tmp / "serve.sqlite3"),
    }
    redis_server = None
    config = None
    if name.startswith("redis") or name == "service-redis":
        redis_server = Redis(tmp / "redis", aof=name in ("redis-aof", "service-redis"))
        redis_server.start()
        env |= {"OFFERS_STORE__TYPE": "redis", "OFFERS_STORE__URL": redis_server.url}
    else:
        env["OFFERS_STORE__TYPE"] = "embedded"
    if name.endswith("experiment"):
        definition = tmp / "fault_suite.toml"
        definition.write_text(EXPERIMENT.format(week=WEEK, salt=tmp.name))
        config = tmp / "serve.toml"
        section = (
            f'\n[experiments]\ndefinitions = ["{definition}"]\nmax_events = 1000\n'
            'progress_cache_entries = 200000\nexposure_writes = "inline"\n'
            f'[experiments.store]\ntype = "sqlite"\npath = "{tmp / "events.sqlite3"}"\n'
            'synchronous = "NORMAL"\nbusy_timeout_s = 10.0\n'
        )
        config.write_text((CONFIG_DIR / "serve.toml").read_text() + section)
    service = Service(env, config)
    service.start()
    load = Load(service.port, args.rate, args.seconds)
    rss_before: list[float] = []

    def inject() -> None:
        rss_before.append(service.rss_mb())
        if name.startswith("redis"):
            assert redis_server is not None
            redis_server.kill()
            redis_server.start()
        else:
            service.kill()
            service.start(wait=False)

    try:
        import uvloop

        fault_t = uvloop.run(drive(load, args.fault_at, inject))
        outcome = summarise(name, load, fault_t)
        outcome.rss_before_mb = rss_before[0] if rss_before else float("nan")
        outcome.rss_after_mb = service.rss_mb()
    finally:
        service.stop()
        if redis_server is not None:
            redis_server.kill()
    return outcome


def report(outcomes: list[Outcome], args: argparse.Namespace) -> None:
    """Print one row per scenario."""
    print(
        f"\n{args.seconds:.0f} s per scenario at {args.rate:.0f} req/s (half first issuances, half repeat "
        f"reads), fault at {args.fault_at:.0f} s; cores: {os.cpu_count()}, "
        f"load average: {os.getloadavg()[0]:.2f}"
    )
    print(
        f"{'scenario':<24}{'requests':>9}{'errors':>8}{'1st err s':>10}{'(what)':>21}{'recovered s':>12}"
        f"{'changed':>9}{'of':>8}{'p50 ms':>10}{'p99 ms':>10}{'RSS MB before':>14}{'after':>7}"
    )
    for o in outcomes:
        lat = np.array(o.latencies_ms or [np.nan])
        first = "-" if o.first_error_s is None else f"{o.first_error_s:.3f}"
        recovered = "-" if o.recovered_s is None else f"{o.recovered_s:.3f}"
        print(
            f"{o.name:<24}{o.requests:>9}{o.errors:>8}{first:>10}{o.first_error[:20]:>21}{recovered:>12}"
            f"{o.changed:>9}{o.compared:>8}{np.percentile(lat, 50):>10.1f}{np.percentile(lat, 99):>10.1f}"
            f"{o.rss_before_mb:>14.1f}{o.rss_after_mb:>7.1f}"
        )
    print(
        "\nerrors: non-200 answers and connection failures; 1st err / recovered: seconds from the fault to "
        "the first error and to the first 200 after the last error (by completion time); changed: members "
        "whose repeat read differed from their first answer, of the repeat reads compared."
    )


def main() -> None:
    """Run the chosen scenarios and print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60.0, help="load per scenario")
    parser.add_argument("--rate", type=float, default=1000.0, help="requests per second")
    parser.add_argument("--fault-at", type=float, default=20.0, help="seconds into the load")
    parser.add_argument("--members", type=int, default=6000, help="members known to the model (rest: cold)")
    parser.add_argument("--scenarios", nargs="+", choices=SCENARIOS, default=list(SCENARIOS))
    args = parser.parse_args()
    outcomes = []
    with tempfile.TemporaryDirectory() as tmp_root:
        root = Path(tmp_root) / "artifacts"
        write_artifact(build_artifact(args.members, 10, 5), root / "bench-v1")
        (root / "CHAMPION").write_text("bench-v1\n")
        for name in args.scenarios:
            tmp = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=tmp_root))
            print(f"scenario {name} ...", flush=True)
            outcomes.append(run_scenario(name, args, root, tmp))
    report(outcomes, args)


if __name__ == "__main__":
    main()
