"""The Redis option of the event store: events appended to streams, state in hashes and sets.

:class:`RedisEventStore` composes three parts, one concept each:

    redis_layout   connection, key prefix, buckets and key naming (the key layout is documented there)
    redis_reads    progress, served answers, member signals, tables and counts
    redis_writes   assignment locks, exposures, purchases and member signals (one Lua script each)

This module connects (checking the recorded bucket count) and picks the exposure writer for serving.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import redis

from engine.errors import ConfigError
from engine.experiments.redis_layout import DEFAULT_TIMEOUT_S
from engine.experiments.redis_writer import WireExposures
from engine.experiments.redis_writes import RedisWrites
from engine.experiments.writers import ThreadWriter
from engine.redis_config import RedisConnection
from engine.redis_connect import sync_client, wire_client
from engine.redis_wire import Wire, WireClient

if TYPE_CHECKING:
    from engine.experiments.protocol import ExposureWriter

__all__ = ["DEFAULT_TIMEOUT_S", "RedisEventStore"]


class RedisEventStore(RedisWrites):
    """Experiment events in Redis streams and hashes (see :mod:`engine.experiments.redis_layout`).

    Parameters
    ----------
    client
        A ``redis.Redis`` connected to the server (``decode_responses`` not required).
    prefix
        Namespace of every key; one per deployment (and per test).
    connection
        Where ``client`` points (cluster, TLS, buckets); None: one node, one bucket, as ``client`` says.
    """

    @classmethod
    def from_url(cls, url: str, prefix: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> RedisEventStore:
        """Connect to ``url`` (``redis://host:port/db``); ``timeout_s`` bounds serving's exposure writes."""
        return cls(redis.Redis.from_url(url), prefix, timeout_s)

    @classmethod
    def connect(cls, connection: RedisConnection, prefix: str, timeout_s: float) -> RedisEventStore:
        """Connect as ``connection`` says (one node or a cluster, plain or TLS, buckets).

        Raises :class:`~engine.errors.ConfigError` when the events under ``prefix`` were written with
        another bucket count (they would not be found), and the mapped Redis error when it is away.
        """
        store = cls(sync_client(connection), prefix, timeout_s, connection)
        try:
            store._r.set(store._k("layout"), connection.buckets, nx=True)
            recorded = int(store._r.get(store._k("layout")))
        except redis.RedisError as exc:
            store.close()
            raise store.error(exc, "reading the key layout") from exc
        if recorded != connection.buckets:
            store.close()
            raise ConfigError(
                f"experiment event store {store.path}: events were written with buckets = {recorded}, "
                f"this config has buckets = {connection.buckets}; set it back or use a new prefix"
            )
        return store

    def exposure_writer(self, in_thread: bool) -> ExposureWriter:
        """A worker thread per write, or on the loop a lean pipelined connection to the same server."""
        if in_thread:
            return ThreadWriter(self)
        if self._conn is not None:
            return WireExposures(self, wire_client(self._conn, self.timeout_s, self.timeout_s))
        kwargs = self._r.connection_pool.connection_kwargs
        wire: Wire = WireClient(
            kwargs.get("host", "127.0.0.1"),
            int(kwargs.get("port", 6379)),
            db=int(kwargs.get("db", 0)),
            username=kwargs.get("username"),
            password=kwargs.get("password"),
            timeout_s=self.timeout_s,
            connect_timeout_s=self.timeout_s,
        )
        return WireExposures(self, wire)

    def __enter__(self) -> RedisEventStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
