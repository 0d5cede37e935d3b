"""Publishing at scale: N synthetic member records loaded into Redis and switched to, one node and a cluster.

Times :meth:`engine.serve.redis_store.RedisStore.publish` (pipelined HSET batches into a fresh key space,
then the one-script switch) for ``--members`` records of ``--record-bytes`` bytes each (the test
artifact's records average ~200 bytes; a Complete Journey record ~400), generated lazily so the
benchmark holds no list of them. Each target is a ``redis-server`` the benchmark starts on free ports in a
temporary folder and stops afterwards (nothing touches the shared Redis on 6379 unless ``--redis-url``
names one; then the keys live under a fresh prefix and are deleted at the end):

    single    one node, one bucket (the default layout)
    cluster   a three-node Redis Cluster (``redis-cli --cluster create``), ``--buckets`` buckets

Prints per target: members, seconds, members/s, the Redis memory used, and a check that every member is
readable through a lookup (a sample) and that the switch happened.

Usage
    .venv/bin/python benchmarks/bench_publish.py                       # 1,000,000 members, both targets
    .venv/bin/python benchmarks/bench_publish.py --members 200000 --targets cluster --buckets 64
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' Redis launchers

from engine.serve.redis_store import RedisStore, RedisStoreConfig
from tests.redis_servers import LocalCluster, _Servers, free_cluster_port


def records(n: int, size: int, version: str) -> Iterator[tuple[str, bytes]]:
    """``n`` member records of ``size`` bytes, made as they are consumed."""
    pad = b"x" * max(size - 40, 0)
    for m in range(1, n + 1):
        yield str(m), b'{"v":"' + version.encode() + b'","m":' + str(m).encode() + b',"p":"' + pad + b'"}'


class SingleNode(_Servers):
    """One throwaway ``redis-server`` without persistence."""

    def __init__(self) -> None:
        super().__init__()
        self.port = free_cluster_port(set())
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> SingleNode:
        self._start(["--port", str(self.port)], "single")
        client = redis.Redis(port=self.port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        client.close()
        return self


def memory_used(config: RedisStoreConfig, ports: list[int]) -> float:
    """MiB used by the Redis servers (sum over the nodes)."""
    total = 0
    for port in ports:
        client = redis.Redis(port=port)
        total += int(client.info("memory")["used_memory"])
        client.close()
    return total / 2**20


async def run(config: RedisStoreConfig, members: int, size: int) -> tuple[float, str | None]:
    """Publish twice (the second is the switch from a loaded version) and check a sample."""
    store = RedisStore(config)
    try:
        await store.publish("warm", records(1000, size, "warm"), {"catalog": b"[]"})
        start = time.perf_counter()
        before = await store.publish("big", records(members, size, "big"), {"catalog": b"[]"})
        seconds = time.perf_counter() - start
        rng = random.Random(1)
        for m in rng.sample(range(1, members + 1), 1000):
            found = await store.lookup(1, str(m))
            assert found.version == "big", found.version
            assert found.record is not None
            assert b'"m":%d,' % m in found.record
        assert await store.current_version() == "big"
        return seconds, before
    finally:
        await store.close()


def delete_prefix(url: str, prefix: str) -> None:
    client = redis.Redis.from_url(url)
    batch = []
    for key in client.scan_iter(match=f"{prefix}:*", count=1000):
        batch.append(key)
        if len(batch) >= 1000:
            client.unlink(*batch)
            batch = []
    if batch:
        client.unlink(*batch)
    client.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--record-bytes", type=int, default=300)
    parser.add_argument("--buckets", type=int, default=64, help="buckets on the cluster")
    parser.add_argument("--batch", type=int, default=1000, help="records per HSET")
    parser.add_argument("--pipeline", type=int, default=16, help="HSETs per round trip")
    parser.add_argument("--targets", nargs="+", default=["single", "cluster"], choices=["single", "cluster"])
    parser.add_argument("--redis-url", help="publish 'single' into this Redis (fresh prefix) instead")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="  %(message)s")  # the store's progress lines

    print(
        f"{args.members:,} members x {args.record_bytes} bytes, batch {args.batch}, pipeline {args.pipeline}"
    )
    print(f"{'target':<10} {'buckets':>7} {'seconds':>8} {'members/s':>10} {'Redis MiB':>10}")
    for target in args.targets:
        prefix = f"bench-publish-{uuid.uuid4().hex[:8]}"
        options = {"key_prefix": prefix, "publish_batch": args.batch, "publish_pipeline": args.pipeline}
        servers: SingleNode | LocalCluster | None = None
        if target == "single" and args.redis_url:
            config = RedisStoreConfig(url=args.redis_url, **options)  # type: ignore[arg-type]
            ports = [redis.Redis.from_url(args.redis_url).connection_pool.connection_kwargs["port"]]
        elif target == "single":
            servers = SingleNode().start()
            config = RedisStoreConfig(url=servers.url, **options)  # type: ignore[arg-type]
            ports = [servers.port]
        else:
            servers = LocalCluster().start()
            config = RedisStoreConfig(url=servers.url, cluster=True, buckets=args.buckets, **options)  # type: ignore[arg-type]
            ports = servers.ports
        try:
            seconds, before = asyncio.run(run(config, args.members, args.record_bytes))
            assert before == "warm", before
            mib = memory_used(config, ports)
            rate = args.members / seconds
            print(
                f"{target:<10} {config.buckets:>7} {seconds:>8.1f} {rate:>10,.0f} {mib:>10,.0f}", flush=True
            )
        finally:
            if servers is not None:
                servers.stop()
            elif args.redis_url:
                delete_prefix(args.redis_url, prefix)


if __name__ == "__main__":
    main()
