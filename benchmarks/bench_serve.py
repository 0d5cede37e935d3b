"""Load benchmark of the serving path: real uvicorn server, real Redis, fixed request rates.

What it does
    1. builds a synthetic candidate artifact (``--members`` members, ``--habitual``/``--stretch``
       candidates each, a 2,000-item catalog) and writes it with :func:`engine.artifact.write_artifact`;
    2. publishes it with ``offers publish`` and starts the service as a subprocess (uvicorn, uvloop,
       httptools; ``--workers``) against Redis on ``--redis-url`` under a fresh key prefix (deleted at
       the end); the app is ``offers serve``'s plus the benchmark's own ping route (``bench_app.py``:
       the production app has no benchmark route);
    3. drives load from this process with a small asyncio HTTP/1.1 keep-alive client at a FIXED rate
       (open loop: request i is due at t0 + i/rate; latency is measured from that due time, so any lag of
       the load generator itself counts against the server, never hides it):

       - ``ping``           ``GET /v1/_bench/ping`` (``bench_app.py`` only): one plain Redis GET, the
                            floor (2,000 req/s);
       - ``first issuance`` ``GET /v1/members/{id}/challenge`` for members not yet issued: lookup,
                            rules applied, challenge stored once, counters/exposure (1,000 req/s);
       - ``repeat read``    the same members again: the stored challenge (2,000 req/s);
       - ``ping`` again at the end, so drift over the run shows.

With ``--experiment`` an A/B experiment covering the benchmark's week runs in the service (the
definition ``experiments/star_challenge_v1.toml`` moved onto that week; its event store is Redis streams
with ``--store redis`` or a SQLite file with ``--store embedded``; ``--exposure-writes`` as in
``[experiments]`` of ``configs/serve.toml``): every first issuance then also assigns an arm and records
one exposure event, and every answer carries the member's progress.

Usage
    .venv/bin/python benchmarks/bench_serve.py                  # the targets' rates, 5 s per phase
    .venv/bin/python benchmarks/bench_serve.py --experiment     # the same with an experiment running
    .venv/bin/python benchmarks/bench_serve.py --seconds 10 --json out.json

The last two columns are the CPU time per request of the server (all its processes, from /proc) and of
the load generator: unlike latency they hardly depend on what else runs on the machine, so they show
whether a target is reachable on quiet cores even when the run itself is starved.

Targets (issue 4; 2-core machine, load generator included): repeat reads p99 <= 1.5x the ping p99 and
< 5 ms at 2,000 req/s; first issuances p99 < 10 ms at 1,000 req/s. The script prints the numbers and
whether each target holds; it does not fail on a miss (other processes share the machine).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import redis

from engine.artifact import CandidateArtifact, Manifest, write_artifact
from engine.config import CONFIG_DIR

ROOT = Path(__file__).resolve().parents[1]

WEEK = 10
N_ITEMS = 2000
N_CATEGORIES = 60
STARTUP_S = 60
CONNECTIONS = 64


def experiment_env(tmp: Path, args: argparse.Namespace, prefix: str) -> dict[str, str]:
    """``OFFERS_EXPERIMENTS__*``: the shipped experiment moved onto the benchmark's week, and its store."""
    text = (ROOT / "experiments" / "star_challenge_v1.toml").read_text()
    text = re.sub(r"(?m)^start_week = \d+$", f"start_week = {WEEK}", text)
    text = re.sub(r"(?m)^end_week = \d+$", f"end_week = {WEEK + 1}", text)
    definition = tmp / "star_challenge_v1.toml"  # a definition file is named after its experiment
    definition.write_text(text)
    env = {
        "OFFERS_EXPERIMENTS__DEFINITIONS": json.dumps([str(definition)]),
        "OFFERS_EXPERIMENTS__MAX_EVENTS": "1000",
        "OFFERS_EXPERIMENTS__PROGRESS_CACHE_ENTRIES": "200000",
        "OFFERS_EXPERIMENTS__EXPOSURE_WRITES": args.exposure_writes,
    }
    if args.store == "redis":
        store = {"type": "redis", "url": args.redis_url, "prefix": f"{prefix}-events", "busy_timeout_s": 10.0}
    else:
        store = {"type": "sqlite", "path": str(tmp / "events.sqlite3"), "synchronous": "NORMAL"}
        store["busy_timeout_s"] = 10.0
    env["OFFERS_EXPERIMENTS__STORE"] = json.dumps(store)
    return env


def build_artifact(n_members: int, n_habitual: int, n_stretch: int, seed: int = 0) -> CandidateArtifact:
    """A synthetic artifact shaped like a trained one (ranked candidates, varied prices and margins)."""
    rng = np.random.default_rng(seed)
    item_ids = np.arange(1, N_ITEMS + 1)
    categories = np.array([f"CAT{c:02d}" for c in rng.integers(0, N_CATEGORIES, N_ITEMS)])
    items = pd.DataFrame(
        {
            "item_id": item_ids,
            "name": [f"item {i}" for i in item_ids],
            "category": categories,
            "department": ["GROCERY"] * N_ITEMS,
            "price": rng.uniform(1.0, 12.0, N_ITEMS).round(2),
            "margin_rate": rng.uniform(0.1, 0.5, N_ITEMS).round(3),
            "excluded": rng.random(N_ITEMS) < 0.02,
        }
    )
    by_category: dict[str, np.ndarray] = {c: item_ids[categories == c] for c in np.unique(categories)}
    habitual, stretch, bought = [], [], []
    for m in range(1, n_members + 1):
        mine = rng.choice(item_ids, n_habitual, replace=False)
        scores = np.sort(rng.uniform(0.05, 0.8, n_habitual))[::-1]
        for rank, (item_id, score) in enumerate(zip(mine, scores, strict=True), start=1):
            habitual.append((m, int(item_id), float(score), int(rng.integers(1, 20)), WEEK - 1, rank))
        cats = sorted({str(categories[i - 1]) for i in mine})
        bought.extend((m, c) for c in cats)
        fresh = [c for c in by_category if c not in cats]
        for rank, cat in enumerate(rng.choice(fresh, n_stretch, replace=False), start=1):
            item_id = int(rng.choice(by_category[str(cat)]))
            score = float(rng.uniform(0.02, 0.3))
            unit_margin = float(items.price[item_id - 1] * items.margin_rate[item_id - 1])
            stretch.append((m, str(cat), score, item_id, score * unit_margin, rank))
    tiers = rng.choice(["bronze", "silver", "gold", "diamond"], n_members, p=[0.5, 0.3, 0.15, 0.05])
    return CandidateArtifact(
        manifest=Manifest("bench-v1", WEEK, WEEK, "2026-01-01T00:00:00+00:00", "bench"),
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
                "member_id": np.arange(1, n_members + 1),
                "tier": tiers,
                "spend_52w": rng.uniform(50, 5000, n_members),
                "last_week": [WEEK - 1] * n_members,
            }
        ),
        member_categories=pd.DataFrame(bought, columns=["member_id", "category"]),
        popular_items=pd.DataFrame(
            {"item_id": [1, 2, 3, 4], "score": [0.5, 0.4, 0.3, 0.2], "rank": [1, 2, 3, 4]}
        ),
        popular_categories=pd.DataFrame(
            {"category": [str(categories[9])], "score": [0.1], "suggested_item_id": [10], "rank": [1]}
        ),
    )


# --- a small keep-alive HTTP/1.1 client -------------------------------------------------------------


def server_cpu_s(pid: int) -> float:
    """User+system CPU seconds of the server process and its direct children (uvicorn workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry.name) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


class Connection:
    """One keep-alive connection; requests on it are sequential."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: bytes) -> None:
        self.reader, self.writer, self.host = reader, writer, host

    async def get(self, path: str) -> int:
        """Send a GET, read the full response; returns the status code."""
        self.writer.write(b"GET %b HTTP/1.1\r\nHost: %b\r\n\r\n" % (path.encode(), self.host))
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await self.reader.readexactly(length)
        return status


@dataclass
class Phase:
    """The outcome of one fixed-rate phase."""

    name: str
    rate: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    wall_s: float = 0.0
    server_cpu_us: float = float("nan")
    client_cpu_us: float = float("nan")

    def summary(self) -> dict[str, float | str | int]:
        """p50/p99/max latency (ms), achieved throughput, errors."""
        lat = np.array(self.latencies_ms) if self.latencies_ms else np.array([np.nan])
        return {
            "phase": self.name,
            "target_rps": self.rate,
            "achieved_rps": round(len(self.latencies_ms) / self.wall_s, 1) if self.wall_s else 0.0,
            "requests": len(self.latencies_ms),
            "errors": self.errors,
            "p50_ms": round(float(np.percentile(lat, 50)), 3),
            "p99_ms": round(float(np.percentile(lat, 99)), 3),
            "max_ms": round(float(np.max(lat)), 3),
            "server_cpu_us_per_req": round(self.server_cpu_us, 1),
            "client_cpu_us_per_req": round(self.client_cpu_us, 1),
        }


async def open_connections(host: str, port: int, n: int) -> list[Connection]:
    """``n`` keep-alive connections."""
    conns = []
    for _ in range(n):
        reader, writer = await asyncio.open_connection(host, port)
        conns.append(Connection(reader, writer, f"{host}:{port}".encode()))
    return conns


async def fixed_rate(conns: list[Connection], phase: Phase, paths: list[str], seconds: float) -> Phase:
    """Send ``paths`` (cycled) at ``phase.rate`` for ``seconds``; latency from each request's due time.

    Open loop without a task per request: every connection runs one worker that claims the next due
    request, sleeps until it is due and sends it. As long as a connection is free when a request falls
    due, the schedule holds; if none is, the wait shows up in the latency (measured from the due time).
    """
    # uvloop's loop.time() ticks in whole milliseconds: too coarse for these latencies.
    clock = time.perf_counter
    n = int(phase.rate * seconds)
    interval = 1.0 / phase.rate
    start = clock() + 0.05
    claimed = 0

    async def worker(conn: Connection) -> None:
        nonlocal claimed
        while claimed < n:
            k = claimed
            claimed += 1
            due = start + k * interval
            delay = due - clock()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                status = await conn.get(paths[k % len(paths)])
            except (OSError, asyncio.IncompleteReadError):
                phase.errors += 1
                return
            if status != 200:
                phase.errors += 1
            phase.latencies_ms.append((clock() - due) * 1000.0)

    await asyncio.gather(*(worker(c) for c in conns))
    phase.wall_s = clock() - start
    return phase


async def measured(
    conns: list[Connection], phase: Phase, paths: list[str], seconds: float, server_pid: int
) -> Phase:
    """:func:`fixed_rate` plus the server's CPU time per request over the phase."""
    before, client_before = server_cpu_s(server_pid), time.process_time()
    await fixed_rate(conns, phase, paths, seconds)
    if phase.latencies_ms:
        phase.server_cpu_us = (server_cpu_s(server_pid) - before) / len(phase.latencies_ms) * 1e6
        phase.client_cpu_us = (time.process_time() - client_before) / len(phase.latencies_ms) * 1e6
    return phase


async def drive(host: str, port: int, args: argparse.Namespace, server_pid: int) -> list[Phase]:
    """The benchmark phases, in order, on one connection pool."""
    pool = await open_connections(host, port, CONNECTIONS)
    ping = ["/v1/_bench/ping"]
    n_first = int(args.first_rate * args.seconds)
    members = [f"/v1/members/{m}/challenge?week={WEEK}" for m in range(1, n_first + 1)]
    warm = [f"/v1/members/{m}/challenge?week={WEEK + 1}" for m in range(1, 201)]
    await fixed_rate(pool, Phase("warm-up", 500), ping + warm, 2.0)
    d, pid = args.seconds, server_pid
    phases = [
        await measured(pool, Phase("ping (1 Redis GET)", args.read_rate), ping, d, pid),
        await measured(pool, Phase("first issuance", args.first_rate), members, d, pid),
        await measured(pool, Phase("repeat read", args.read_rate), members, d, pid),
        await measured(pool, Phase("ping again", args.read_rate), ping, d, pid),
    ]
    for conn in pool:
        conn.writer.close()
    return phases


def free_port() -> int:
    """A port nobody listens on."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=6000, help="members in the artifact")
    parser.add_argument("--habitual", type=int, default=10, help="habitual candidates per member")
    parser.add_argument("--stretch", type=int, default=5, help="stretch candidates per member")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each measured phase")
    parser.add_argument("--read-rate", type=float, default=2000.0, help="req/s for ping and repeat reads")
    parser.add_argument("--first-rate", type=float, default=1000.0, help="req/s for first issuances")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument(
        "--store", choices=["redis", "embedded"], default="redis", help="online store (embedded: a temp file)"
    )
    parser.add_argument("--experiment", action="store_true", help="run an A/B experiment in the service")
    parser.add_argument(
        "--exposure-writes", choices=["thread", "inline"], default="inline", help="with --experiment"
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    if args.first_rate * args.seconds > args.members:
        parser.error("--members must cover first-rate x seconds distinct first issuances")

    prefix = f"bench-serve-{uuid.uuid4().hex[:10]}"
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "artifacts"
        t0 = time.perf_counter()
        write_artifact(build_artifact(args.members, args.habitual, args.stretch), root / "bench-v1")
        (root / "CHAMPION").write_text("bench-v1\n")
        print(f"artifact: {args.members} members written in {time.perf_counter() - t0:.1f}s", flush=True)
        env = {
            **os.environ,
            "OFFERS_ARTIFACT_ROOT": str(root),
            "OFFERS_RULES_PATH": str(CONFIG_DIR / "rules.toml"),
            "OFFERS_LOG_LEVEL": "warning",
            "OFFERS_PUBLISH_ON_START": "never",
        }
        if args.store == "redis":
            env |= {
                "OFFERS_STORE__TYPE": "redis",
                "OFFERS_STORE__URL": args.redis_url,
                "OFFERS_STORE__KEY_PREFIX": prefix,
            }
            offers = [sys.executable, "-c", "from engine.cli import main; main()"]
            subprocess.run([*offers, "publish"], env=env, check=True)
        else:  # the embedded store is filled at start-up (one worker: it is one process's file)
            env |= {
                "OFFERS_EMBEDDED__PATH": str(Path(tmp) / "serve.sqlite3"),
                "OFFERS_PUBLISH_ON_START": "always",
            }
        if args.experiment:
            env |= experiment_env(Path(tmp), args, prefix)
        cmd = [sys.executable, "-m", "uvicorn", "bench_app:app", "--factory"]
        cmd += ["--app-dir", str(Path(__file__).resolve().parent), "--host", "127.0.0.1", "--port", str(port)]
        cmd += ["--workers", str(args.workers), "--loop", "uvloop", "--http", "httptools"]
        cmd += ["--no-access-log", "--log-level", "warning"]
        server = subprocess.Popen(cmd, env=env)
        try:
            wait_ready(port, server)
            import uvloop

            phases = uvloop.run(drive("127.0.0.1", port, args, server.pid))
        finally:
            server.terminate()
            server.wait(timeout=10)
            client = redis.Redis.from_url(args.redis_url)
            keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
            if keys:
                client.delete(*keys)
            client.close()
    report(phases, args)


def wait_ready(port: int, server: subprocess.Popen[bytes]) -> None:
    """Poll /readyz until the champion is published."""
    import httpx

    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("server exited during start-up")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("server did not become ready")


def report(phases: list[Phase], args: argparse.Namespace) -> None:
    """Print the table and the targets."""
    rows = [p.summary() for p in phases]
    print(
        f"\n{'phase':<22}{'target/s':>9}{'got/s':>9}{'n':>7}{'err':>5}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'max ms':>9}{'srv cpu us/req':>16}{'gen cpu us/req':>16}"
    )
    for r in rows:
        print(
            f"{r['phase']:<22}{r['target_rps']:>9.0f}{r['achieved_rps']:>9.1f}{r['requests']:>7}{r['errors']:>5}"
            f"{r['p50_ms']:>9.3f}{r['p99_ms']:>9.3f}{r['max_ms']:>9.3f}{r['server_cpu_us_per_req']:>16.1f}"
            f"{r['client_cpu_us_per_req']:>16.1f}"
        )
    # The floor is the better of the two ping phases (the stricter comparison for repeat reads).
    ping_p99 = min(float(rows[0]["p99_ms"]), float(rows[3]["p99_ms"]))
    first, repeat = rows[1], rows[2]
    checks = {
        "repeat p99 <= 1.5 x ping p99": float(repeat["p99_ms"]) <= 1.5 * ping_p99,
        "repeat p99 < 5 ms @ read rate": float(repeat["p99_ms"]) < 5.0,
        "first issuance p99 < 10 ms @ first rate": float(first["p99_ms"]) < 10.0,
        "no errors": all(r["errors"] == 0 for r in rows),
    }
    print(
        f"\nping p99 (better of the two ping phases): {ping_p99:.3f} ms; cores: {os.cpu_count()}; "
        f"server workers: {args.workers}; load average at the end: {os.getloadavg()[0]:.2f}"
    )
    for name, ok in checks.items():
        print(f"  {'PASS' if ok else 'MISS'}  {name}")
    if args.json:
        args.json.write_text(json.dumps({"phases": rows, "checks": checks, "args": vars(args)}, default=str))


if __name__ == "__main__":
    main()
