"""Exposure writes to the Redis event store over a lean async connection (:mod:`engine.redis_wire`).

One ``EVALSHA`` of :data:`~engine.experiments.redis_scripts.EXPOSE_SCRIPT` per exposure, sent without
blocking the loop; the writes of concurrent requests pipeline on the one connection by themselves (group
commit on the wire), and each request answers only after its own write is acknowledged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import redis

from engine.experiments.events import ExposureEvent, Progress
from engine.experiments.redis_scripts import EXPOSE_SCRIPT
from engine.redis_wire import Wire

if TYPE_CHECKING:
    from engine.experiments.redis_store import RedisEventStore


class WireExposures:
    """The :class:`~engine.experiments.protocol.ExposureWriter` of :class:`RedisEventStore` on the loop."""

    def __init__(self, store: RedisEventStore, wire: Wire) -> None:
        self._store = store
        self._wire = wire

    async def write(self, event: ExposureEvent) -> Progress:
        """Store ``event``; its progress, or :class:`Conflict` when the member-week was served otherwise."""
        member, week, keys, args = self._store.exposure_command(event)
        try:
            reply = await self._wire.evalsha(self._store.expose_sha, EXPOSE_SCRIPT, keys, args)
        except redis.RedisError as exc:
            raise self._store.error(exc) from exc
        return self._store.exposure_progress(member, week, reply)

    async def served(self, member_id: str, week: int) -> str | None:
        """The answer first served to the member for ``week``, if recorded."""
        key, field = self._store.served_field(member_id, week)
        try:
            reply: bytes | None = await self._wire.call(key, "HGET", key, field)
        except redis.RedisError as exc:
            raise self._store.error(exc) from exc
        return None if reply is None else reply.decode()

    async def aclose(self) -> None:
        """Close the connection."""
        await self._wire.close()
