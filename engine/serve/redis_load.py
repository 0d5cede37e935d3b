"""Loading a model version's member records into Redis fast: bucketed, batched, pipelined, with progress.

Records arrive as an iterable (never held as a whole); each goes to its bucket's hash
(:mod:`engine.redis_slots`) in ``HSET`` batches of ``publish_batch`` fields, ``publish_pipeline`` of them
per round trip (on a cluster redis-py splits each round trip by node). Every bucket hash also gets the
marker field that says "this key space is loaded" (:data:`~engine.serve.redis_scripts.MARKER`).
Measured in ``benchmarks/bench_publish.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import Field

from engine.config import StrictModel
from engine.redis_slots import bucket_of
from engine.serve.redis_scripts import MARKER

log = logging.getLogger(__name__)


class PublishOptions(StrictModel):
    """How a publish loads records (part of ``[store]`` for Redis)."""

    publish_batch: int = Field(default=1000, ge=1, description="records per pipelined HSET")
    publish_pipeline: int = Field(default=16, ge=1, description="HSETs per publish round trip")
    publish_log_every: int = Field(default=250_000, ge=1, description="members between progress lines")


async def load_members(
    client: Any, members: Sequence[str], records: Iterable[tuple[str, bytes]], options: PublishOptions
) -> int:
    """Write ``records`` into ``members[bucket]`` hashes (one key per bucket); returns how many."""
    buckets = len(members)
    batches: list[dict[str, bytes]] = [{MARKER: b""} for _ in range(buckets)]
    pipe = client.pipeline(transaction=False)
    queued = loaded = 0
    next_log = options.publish_log_every
    for member_id, record in records:
        b = bucket_of(member_id, buckets)
        batch = batches[b]
        batch[member_id] = record
        if len(batch) >= options.publish_batch:
            pipe.hset(members[b], mapping=batch)
            batches[b] = {}
            queued += 1
            if queued >= options.publish_pipeline:
                await pipe.execute()
                queued = 0
        loaded += 1
        if loaded >= next_log:
            log.info("publishing: %d members loaded", loaded, extra={"key": members[0]})
            next_log += options.publish_log_every
    for b, batch in enumerate(batches):
        if batch:
            pipe.hset(members[b], mapping=batch)
    await pipe.execute()
    return loaded


async def unlink_each(client: Any, keys: Iterable[str]) -> None:
    """``UNLINK`` each key in one pipeline (one key per command: on a cluster they live in other slots)."""
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.execute_command("UNLINK", key)
    await pipe.execute()
