"""Where the Redis event store keeps what: its connection, key naming and buckets.

Layout under ``<prefix>:``

    exposures / purchases / opt_outs   streams: the durable, ordered event log (``event`` = JSON)
    ids:<table>                        hash event_id -> canonical JSON (exactly-once, conflict check)
    challenges                         hash "<member>|<week>" -> challenge JSON
    served                             hash "<member>|<week>" -> the answer first served (API JSON)
    bought:<member>:<week>             set of items bought in the week
    bought_cat:<member>:<week>         hash category -> first product of it bought in the week (the
                                       stretch pick is a category: any product of it counts)
    opt_state                          hash member -> "<order>#<kind>" of the latest opt-out/opt-in
    signal_counts                      hash "<member>#<kind>" -> signals stored of that kind
    rewards                            hash "<member>|<week>" -> reward JSON (HSETNX: issued once)
    locks                              hash "<experiment>|<salt>" -> assignment fingerprint
    layout                             the bucket count the events were written with

On a Redis Cluster (or with ``buckets`` > 1) every key above except ``locks`` and ``layout`` exists once
per bucket of members, under ``<prefix>:{b<k>}:`` (:mod:`engine.redis_slots`), so each script touches one
member's bucket: one hash slot. Tables and counts are read as the union over the buckets.

:class:`RedisLayout` is the base the read side (:mod:`engine.experiments.redis_reads`) and the write side
(:mod:`engine.experiments.redis_writes`) build on; :class:`~engine.experiments.redis_store.RedisEventStore`
composes them.
"""

from __future__ import annotations

import json
from typing import Any

import redis

from engine.errors import OfferEngineError
from engine.redis_config import RedisConnection
from engine.redis_connect import close_sync
from engine.redis_errors import map_redis_error
from engine.redis_slots import bucket_base, bucket_of

#: The tables kept as streams (the others are hashes).
STREAMS = ("exposures", "purchases", "opt_outs")
#: How long serving's exposure writes wait for Redis when the config does not say.
DEFAULT_TIMEOUT_S = 2.0
#: Entries per round trip when reading a stream or checking a batch of event ids.
BATCH = 5000


def dump(value: object) -> str:
    """Canonical JSON of ``value`` (sorted keys, no spaces): the stored form of an event."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


class RedisLayout:
    """The connection, key prefix and buckets of a Redis event store, and how its keys are named.

    Parameters
    ----------
    client
        A ``redis.Redis`` connected to the server (``decode_responses`` not required).
    prefix
        Namespace of every key; one per deployment (and per test).
    timeout_s
        How long serving's exposure writes wait for Redis.
    connection
        Where ``client`` points (cluster, TLS, buckets); None: one node, one bucket, as ``client`` says.
    """

    def __init__(
        self,
        client: redis.Redis | redis.RedisCluster,
        prefix: str,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        connection: RedisConnection | None = None,
    ) -> None:
        # redis-py's return types are unions over its decode modes; this store always reads bytes.
        self._r: Any = client
        self.prefix = prefix
        self.timeout_s = timeout_s
        self._conn = connection
        self._buckets = 1 if connection is None else connection.buckets
        tagged = connection is not None and connection.tagged
        self._bases = [bucket_base(prefix, b, tagged) for b in range(self._buckets)]

    def error(self, exc: BaseException, during: str = "a write") -> OfferEngineError:
        """Our error for a Redis error of this store (:data:`engine.redis_errors.REDIS_ERRORS`)."""
        return map_redis_error(exc, f"experiment event store {self.path}", during)

    @property
    def path(self) -> str:
        """The connection and key prefix, for reports."""
        if self._conn is not None:
            return f"redis {self._conn.location()} prefix {self.prefix}"
        kwargs = self._r.connection_pool.connection_kwargs
        return f"redis://{kwargs.get('host')}:{kwargs.get('port')}/{kwargs.get('db')} prefix {self.prefix}"

    def _k(self, *parts: object) -> str:
        return ":".join([self.prefix, *map(str, parts)])

    def _m(self, member: str, *parts: object) -> str:
        """A key in ``member``'s bucket (one hash slot for everything a member's script touches)."""
        return self._bases[bucket_of(member, self._buckets)] + ":".join(map(str, parts))

    def _all(self, *parts: object) -> list[str]:
        """The key ``parts`` in every bucket."""
        suffix = ":".join(map(str, parts))
        return [base + suffix for base in self._bases]

    def served_field(self, member_id: int | str, week: int) -> tuple[str, str]:
        """``(hash key, field)`` of the answer first served to the member for ``week``."""
        return self._m(str(member_id), "served"), f"{member_id}|{week}"

    def _call(self, fn: Any, keys: list[str], args: list[object]) -> Any:
        try:
            return fn(keys=keys, args=args)
        except redis.RedisError as exc:
            raise self.error(exc) from exc

    def close(self) -> None:
        """Close the connection pool."""
        close_sync(self._r)
