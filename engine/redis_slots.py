"""Which hash slot a member's keys live in: buckets of members, named by a Redis Cluster hash tag.

A Lua script on a Redis Cluster may touch keys of one hash slot only. Every script of the engine's two
Redis stores touches one member's keys (issued challenge, history, the week's bought items, ...) plus
state shared by many members (the week's budget spent, counters, the event log). So members are split
into ``buckets``: member ``m`` belongs to bucket ``k = crc32(m) mod buckets``, and every key of the
member *and* every shared key the member's scripts write exists once per bucket, all carrying the hash
tag ``{b<k>}`` (Redis hashes only the text between the braces, so they share one slot). Shared state is
then the sum over the buckets when read (counters, budget spent, event tables).

``crc32`` is stable across processes and Python versions (unlike ``hash()``), so every worker and every
host puts a member in the same bucket. The bucket count is part of the stored data's layout: changing it
moves members to other keys, so the stores record it and refuse a different one (see each store).

A store with one bucket on one node (``tagged`` false) keeps the key names it had before buckets existed,
so data written by an older release stays readable.
"""

from __future__ import annotations

import zlib

#: More buckets than slots would only put several buckets in one slot.
MAX_BUCKETS = 16384


def bucket_of(member_id: str, buckets: int) -> int:
    """The bucket of ``member_id`` (0 when there is one bucket)."""
    if buckets == 1:
        return 0
    return zlib.crc32(member_id.encode()) % buckets


def bucket_base(prefix: str, bucket: int, tagged: bool) -> str:
    """The start of every key of ``bucket``: ``<prefix>:{b<k>}:``, or ``<prefix>:`` when not tagged."""
    return f"{prefix}:{{b{bucket}}}:" if tagged else f"{prefix}:"


def share(total: float, buckets: int) -> float:
    """Each bucket's share of a limit split evenly (never more in all than ``total``)."""
    return total / buckets
