"""The lean hot-path connection (:mod:`engine.redis_wire`) for a Redis Cluster: one per primary, by slot.

The slot map comes from ``CLUSTER SLOTS`` (asked of any node known so far, the seed first); each command
goes to the primary serving the slot of its first key (scripts: all their keys share one slot, see
:mod:`engine.redis_slots`). A ``MOVED`` or ``ASK`` reply (slots migrating) or ``CLUSTERDOWN`` (a failover)
re-reads the map and retries once; a second refusal is raised like any Redis error (a 503), and the next
request tries again. A command to a node that is away fails like on one node: fast, with a 503, and is
never resent (it may have run); the next command re-reads the map, so a failover to a replica is seen.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from redis.crc import key_slot
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError

from engine.redis_wire import WireClient

#: Hash slots of a Redis Cluster.
SLOTS = 16384
#: Replies that mean "the slot map you have is stale": re-read it and retry once.
_REROUTE = ("MOVED", "ASK", "TRYAGAIN", "CLUSTERDOWN")

Address = tuple[str, int]


class WireCluster:
    """A :class:`~engine.redis_wire.Wire` over a Redis Cluster (see the module docstring)."""

    def __init__(self, seed: WireClient, node: Callable[[str, int], WireClient]) -> None:
        self._node = node
        self._clients: dict[Address, WireClient] = {(seed.host, seed.port): seed}
        self._owner: list[Address] | None = None
        self._refreshing: asyncio.Lock | None = None

    async def _refresh(self, stale: list[Address] | None) -> list[Address]:
        if self._refreshing is None:
            self._refreshing = asyncio.Lock()
        async with self._refreshing:  # one map read for a burst of callers
            if self._owner is not None and self._owner is not stale:
                return self._owner
            errors: list[str] = []
            for client in list(self._clients.values()):
                try:
                    reply = await client.execute("CLUSTER", "SLOTS")
                except RedisError as exc:
                    errors.append(f"{client.host}:{client.port}: {exc}")
                    continue
                owner = self._slot_map(reply)
                self._owner = owner
                return owner
            raise RedisConnectionError(f"no Redis Cluster node answered CLUSTER SLOTS ({'; '.join(errors)})")

    def _slot_map(self, reply: list[Any]) -> list[Address]:
        owner: list[Address | None] = [None] * SLOTS
        for first, last, primary, *_ in reply:
            host = primary[0].decode() if isinstance(primary[0], bytes) else str(primary[0])
            address = (host, int(primary[1]))
            if address not in self._clients:
                self._clients[address] = self._node(*address)
            owner[first : last + 1] = [address] * (last - first + 1)
        missing = sum(1 for a in owner if a is None)
        if missing:
            raise RedisConnectionError(f"no Redis Cluster node serves {missing} of {SLOTS} slots")
        return [a for a in owner if a is not None]

    async def _client(self, key: str) -> tuple[WireClient, list[Address]]:
        owner = self._owner if self._owner is not None else await self._refresh(None)
        return self._clients[owner[key_slot(key.encode())]], owner

    async def _routed(self, key: str, send: Callable[[WireClient], Any]) -> Any:
        client, owner = await self._client(key)
        try:
            return await send(client)
        except ResponseError as exc:
            if not str(exc).startswith(_REROUTE):
                raise
        except RedisConnectionError:
            # Never resent (the command may have run); the next command re-reads the map, which names
            # the replica that took over if the node failed over.
            if self._owner is owner:
                self._owner = None
            raise
        await self._refresh(owner)
        client, _ = await self._client(key)
        return await send(client)

    async def call(self, key: str, *args: Any) -> Any:
        """Run one command on the primary serving ``key``."""
        return await self._routed(key, lambda c: c.execute(*args))

    async def evalsha(self, sha: str, script: str, keys: list[str], args: list[Any]) -> Any:
        """Run a script on the primary serving its keys (all in one slot)."""
        return await self._routed(keys[0], lambda c: c.evalsha(sha, script, keys, args))

    async def close(self) -> None:
        """Close every node's connection."""
        for client in self._clients.values():
            await client.close()
