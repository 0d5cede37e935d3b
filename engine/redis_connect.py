"""Redis clients for a :class:`~engine.redis_config.RedisConnection`: the only place they are built.

redis-py (sync or asyncio, single node or cluster) and the lean hot-path wire of :mod:`engine.redis_wire`
(one connection, or one per cluster primary), so every Redis user in the engine gets the same TLS and
cluster handling.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlparse

import redis
import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster

from engine.redis_config import DEFAULT_PORT, RedisConnection
from engine.redis_wire import Wire, WireClient
from engine.redis_wire_cluster import WireCluster


def async_client(conn: RedisConnection, **options: Any) -> Any:
    """A redis-py asyncio client (``Redis`` on a blocking pool, or ``RedisCluster``) for ``conn``.

    ``options`` are redis-py connection options (timeouts, ``max_connections``, ``retry``). Typed ``Any``:
    the two client classes share the commands the stores use but no common base class.
    """
    options |= conn.redis_py_options()
    if conn.cluster:
        options.pop("retry", None)  # the cluster client retries by re-reading the slot map instead
        return AsyncRedisCluster.from_url(conn.url, **options)
    timeout = options.get("socket_timeout")
    pool = aioredis.BlockingConnectionPool.from_url(conn.url, timeout=timeout, **options)
    return aioredis.Redis.from_pool(pool)


def sync_client(conn: RedisConnection, **options: Any) -> Any:
    """A blocking redis-py client (``Redis`` or ``RedisCluster``) for ``conn``."""
    options |= conn.redis_py_options()
    if conn.cluster:
        return redis.RedisCluster.from_url(conn.url, **options)
    return redis.Redis.from_url(conn.url, **options)


def wire_client(conn: RedisConnection, timeout_s: float, connect_timeout_s: float) -> Wire:
    """The lean hot-path connection (:mod:`engine.redis_wire`): one node, or one per cluster primary."""
    parsed = urlparse(conn.url)
    context = conn.ssl_context()

    def node(host: str, port: int) -> WireClient:
        return WireClient(
            host,
            port,
            db=conn.db,
            username=unquote(parsed.username) if parsed.username else None,
            password=unquote(parsed.password) if parsed.password else None,
            timeout_s=timeout_s,
            connect_timeout_s=connect_timeout_s,
            ssl=context,
        )

    seed = node(parsed.hostname or "127.0.0.1", parsed.port or DEFAULT_PORT)
    return WireCluster(seed, node) if conn.cluster else seed


def close_sync(client: redis.Redis | redis.RedisCluster) -> None:
    """Close a blocking client and every connection it opened.

    ``RedisCluster.close`` alone leaves connections that other threads opened behind (redis-py 8), so
    the cluster client's pools are disconnected first.
    """
    if isinstance(client, redis.RedisCluster):
        client.disconnect_connection_pools()  # type: ignore[no-untyped-call]
    client.close()
