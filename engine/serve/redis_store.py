"""The Redis store: production storage for model versions, issued challenges and counters.

Runs on one Redis node or on a Redis Cluster (``cluster = true``), plain or TLS (``rediss://``); see
:mod:`engine.redis_connect`. Keys (``p`` is ``key_prefix``; several services or tests share one Redis)::

    p:{m}:current, p:{m}:previous      the key spaces "<version>@<load>" of the current and previous version
    p:{m}:shared:<space>               hash name -> blob (catalog, cold-start lists, manifest)
    p:{m}:layout                       the bucket count the member keys below were written with
    B:m:<space>                        hash member_id -> candidate record, one per bucket of members
    B:issued:<week>:<member_id>        the challenge issued to a member in a week (set once, with a TTL)
    B:history:<member_id>              the member's offer history blob
    B:budget:<week>                    expected reward cost the bucket issued in a week (INCRBYFLOAT)
    B:counters                         hash counter -> integer (the bucket's share; read as the sum)
    B:restored:*, B:choice:*           the loyalty programme's (:mod:`engine.serve.redis_programme`)

``B`` is the member's bucket base ``p:{b<k>}:`` (:mod:`engine.redis_slots`), or ``p:`` with one bucket on
one node, where the keys are those of releases before buckets. Every script touches one slot: a member's
scripts only ``B`` keys, publishing and rollback only ``{m}`` keys.

The weekly budget with ``n`` buckets: each bucket may spend ``limit / n`` (the script checks its own
share atomically), so the week never spends more than ``limit``; the shadow prices are the same for every
bucket. With few members per bucket a bucket can run out while another has some left: the week then
spends a little less than ``limit`` (never more). Counters and budget spent are summed over the buckets.

Switching versions: a publish loads a fresh key space ``<version>@<load>`` (pipelined, batched, bucket by
bucket, with progress logged), then one script on the ``{m}`` slot points ``current`` at it. That SET is
the switch, for the whole cluster at once: a request reads the pointer once (inside the lookup script on
one node; one GET before it on a cluster) and then reads only that key space, so it never mixes versions.
A request that read the pointer just before a switch is answered from the version it read, which is
still there (now ``previous``). Key spaces that fall out of the rollback window are unlinked after the
switch; a request that still held one sees its marker gone and reads the pointer again.

Hot paths are single round trips on one node (two on a cluster: pointer, then the member's script):
:meth:`RedisStore.lookup` and :meth:`RedisStore.issue_once` (set-if-absent, with the budget check, the
counters and the history write done only by the winner, in the same atomic step).

Failure: short socket timeouts and no client-side retries, so a request fails fast with
:class:`~engine.errors.StoreUnavailable` (503) while Redis is away; the connection pool reconnects on the
next command, so the service recovers by itself. Scripts are re-sent automatically after a restart.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from pydantic import Field
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError

from engine.errors import ConfigError, Conflict, StoreUnavailable
from engine.redis_config import RedisConnection
from engine.redis_connect import async_client, wire_client
from engine.redis_errors import RedisErrors
from engine.redis_slots import bucket_base, bucket_of, share
from engine.serve.redis_load import PublishOptions, load_members, unlink_each
from engine.serve.redis_programme import RedisProgramme
from engine.serve.redis_scripts import ISSUE, LAYOUT, LOOKUP, MARKER, ROLLBACK, SWITCH
from engine.serve.store import BudgetClaim, IssueResult, Lookup

log = logging.getLogger(__name__)

#: How often a lookup re-reads the pointer when a publish dropped the key space it held.
LOOKUP_ATTEMPTS = 3


class RedisStoreConfig(RedisConnection, PublishOptions):
    """``[store] type = "redis"``: where Redis is (one node or a cluster) and how long to wait for it."""

    type: Literal["redis"] = "redis"
    url: str = Field(
        default="redis://127.0.0.1:6379/0", description="redis:// or rediss:// (TLS) URL of Redis or a node"
    )
    key_prefix: str = Field(default="offers", min_length=1, pattern=r"^[^{}]+$", description="key namespace")
    socket_timeout_s: float = Field(default=0.25, gt=0, description="per-command wait before a 503")
    socket_connect_timeout_s: float = Field(default=1.0, gt=0, description="connect wait before a 503")
    max_connections: int = Field(default=16, ge=1, description="connection pool size")


def persistence_warning(appendonly: str | None, save: str | None) -> str | None:
    """None when Redis writes an append-only file; else what a Redis restart loses, and the fix."""
    if appendonly == "yes":
        return None
    fix = "run Redis with appendonly yes and appendfsync everysec (README: running in production)"
    if save:
        return (
            f"Redis persistence is only RDB snapshots (save {save!r}, appendonly no): a Redis restart loses "
            f"the challenges issued since the last snapshot; {fix}"
        )
    return f"Redis persistence is off (appendonly no, no RDB snapshots): a restart loses everything; {fix}"


def _text(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


def _bytes(value: bytes | str | None) -> bytes | None:
    # The client is built with decode_responses=False, so replies are bytes; the typing allows str too.
    return value.encode() if isinstance(value, str) else value


def _version(space: str | None) -> str | None:
    """The version name of a key space ``<version>@<load>``."""
    return None if space is None else space.rpartition("@")[0]


class RedisStore(RedisProgramme):
    """A :class:`~engine.serve.store.Store` on Redis (redis-py asyncio with the hiredis parser)."""

    def __init__(self, config: RedisStoreConfig) -> None:
        self.config = config
        # Fail fast: a retry after a timeout would only multiply the wait the caller sees during an
        # outage. One immediate retry after a connection error: a pooled connection Redis dropped
        # (a restart) fails once on use, and the retry reconnects at once. A blocking pool makes a burst
        # beyond max_connections wait (up to the socket timeout) for a free connection.
        self._client: Any = async_client(
            config,
            socket_timeout=config.socket_timeout_s,
            socket_connect_timeout=config.socket_connect_timeout_s,
            max_connections=config.max_connections,
            retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
        )
        p = config.key_prefix
        self._current = f"{p}:{{m}}:current"
        self._previous = f"{p}:{{m}}:previous"
        self._shared_prefix = f"{p}:{{m}}:shared:"
        self._layout = f"{p}:{{m}}:layout"
        self._bench = f"{p}:bench"
        self._bases = [bucket_base(p, b, config.tagged) for b in range(config.buckets)]
        self._layout_ok = False
        # The hot commands (lookup, issue, the benchmark GET) go over a lean pipelined connection.
        self._wire = wire_client(config, config.socket_timeout_s, config.socket_connect_timeout_s)
        self._lookup_sha = hashlib.sha1(LOOKUP.encode()).hexdigest()
        self._issue_sha = hashlib.sha1(ISSUE.encode()).hexdigest()
        self._switch = self._client.register_script(SWITCH)
        self._rollback = self._client.register_script(ROLLBACK)
        where = f"online store unavailable: Redis at {config.location()}"
        self._safe = {
            name: RedisErrors(where, name)
            for name in ("publish", "rollback", "read", "lookup", "issue", "counters", "ping")
        }

    # -- keys ---------------------------------------------------------------------------------------
    def _base(self, member_id: str) -> str:
        return self._bases[bucket_of(member_id, self.config.buckets)]

    @staticmethod
    def _members(base: str, space: str) -> str:
        return f"{base}m:{space}"

    async def _check_layout(self) -> None:
        """Refuse to serve data written with another bucket count (members would be looked up elsewhere)."""
        if self._layout_ok:
            return
        with self._safe["read"]:
            stored = await self._wire.evalsha(
                hashlib.sha1(LAYOUT.encode()).hexdigest(), LAYOUT, [self._layout], [self.config.buckets]
            )
        if int(stored) != self.config.buckets:
            raise ConfigError(
                f"Redis at {self.config.location()} holds key prefix {self.config.key_prefix!r} written with "
                f"store.buckets = {int(stored)}, but this service has store.buckets = {self.config.buckets}; "
                "set it back, or use a new key_prefix (members would otherwise get a second challenge)"
            )
        self._layout_ok = True

    async def _space(self, version: str) -> str | None:
        """The key space holding ``version`` now (current or previous), or None."""
        with self._safe["read"]:
            spaces = await self._client.mget(self._current, self._previous)
        for raw in spaces:
            space = _text(raw)
            if space is not None and _version(space) == version:
                return space
        return None

    # -- publishing ---------------------------------------------------------------------------------
    async def publish(
        self, version: str, records: Iterable[tuple[str, bytes]], shared: Mapping[str, bytes]
    ) -> str | None:
        """Load a fresh key space in pipelined batches, then switch ``current`` to it in one script."""
        await self._check_layout()
        space = f"{version}@{secrets.token_hex(6)}"
        with self._safe["publish"]:
            try:
                loaded = await self._load(space, records)
                staged = f"{self._shared_prefix}{space}"
                await self._client.hset(staged, mapping={MARKER: b"", **shared})
                reply = await self._switch(
                    keys=[self._current, self._previous, staged], args=[space, self._shared_prefix]
                )
            except BaseException:
                await self._drop(space)
                raise
            before, dropped = _text(reply[0]) or None, _text(reply[1]) or None
            if dropped is not None:
                await self._drop(dropped, shared_too=False)
        log.info("model version loaded and switched", extra={"model_version": version, "members": loaded})
        return _version(before)

    async def _load(self, space: str, records: Iterable[tuple[str, bytes]]) -> int:
        """Write every record into the member hashes of ``space``; returns how many."""
        members = [self._members(base, space) for base in self._bases]
        return await load_members(self._client, members, records, self.config)

    async def _drop(self, space: str, *, shared_too: bool = True) -> None:
        """Unlink every key of ``space`` (a failed load, or a version out of the rollback window)."""
        keys = [self._members(base, space) for base in self._bases]
        if shared_too:
            keys.append(f"{self._shared_prefix}{space}")
        await unlink_each(self._client, keys)

    async def rollback(self) -> str:
        """Swap ``current`` and ``previous`` in one script."""
        with self._safe["rollback"]:
            result = await self._rollback(keys=[self._current, self._previous], args=[self._shared_prefix])
        version = _version(_text(result))
        if version is None:
            raise Conflict("no previous model version to roll back to")
        return version

    async def current_version(self) -> str | None:
        """The version new issuances read."""
        with self._safe["read"]:
            return _version(_text(await self._client.get(self._current)))

    async def previous_version(self) -> str | None:
        """The version a rollback returns to."""
        with self._safe["read"]:
            return _version(_text(await self._client.get(self._previous)))

    async def get_member(self, version: str, member_id: str) -> bytes | None:
        """One member's record in ``version``."""
        space = await self._space(version)
        if space is None:
            return None
        with self._safe["read"]:
            return _bytes(await self._client.hget(self._members(self._base(member_id), space), member_id))

    async def get_shared(self, version: str, name: str) -> bytes | None:
        """A shared blob of ``version``."""
        space = await self._space(version)
        if space is None:
            return None
        with self._safe["read"]:
            return _bytes(await self._client.hget(f"{self._shared_prefix}{space}", name))

    # -- the request path -----------------------------------------------------------------------------
    async def lookup(self, week: int, member_id: str) -> Lookup:
        """Issued challenge, else current version and the member's record in it (see the module docstring)."""
        await self._check_layout()
        base = self._base(member_id)
        keys = [f"{base}issued:{week}:{member_id}", f"{base}history:{member_id}", f"{base}m:"]
        # On one node the script reads the pointer itself (one round trip, one atomic read).
        pointer = "" if self.config.cluster else self._current
        args: list[str] = [member_id, "", pointer, f"{base}m:"]
        with self._safe["lookup"]:
            for _ in range(LOOKUP_ATTEMPTS):
                if self.config.cluster:
                    # The pointer lives in another slot: read it first (once), then only that key space.
                    space = _text(await self._wire.call(self._current, "GET", self._current)) or ""
                    keys[2], args[1] = self._members(base, space), space
                reply = await self._wire.evalsha(self._lookup_sha, LOOKUP, keys, args)
                if reply[0] != 3:
                    break
            else:  # raised as a Redis error, so the one error table makes it a StoreUnavailable (503)
                raise RedisError(
                    f"Redis at {self.config.location()}: the current model version's keys disappeared "
                    f"{LOOKUP_ATTEMPTS} times in a row (publishes in quick succession?); retry"
                )
        if reply[0] == 1:
            return Lookup(reply[1], None, None)
        if reply[0] == 0:
            return Lookup(None, None, None)
        return Lookup(None, _version(_text(reply[1])), reply[2], reply[3])

    async def issue_once(
        self,
        week: int,
        member_id: str,
        payload: bytes,
        ttl_s: int,
        counters: Sequence[str] = (),
        *,
        history: bytes | None = None,
        history_ttl_s: int = 0,
        budget: BudgetClaim | None = None,
    ) -> IssueResult:
        """One script: set-if-absent, budget check (the bucket's share), counters and history, atomically."""
        await self._check_layout()
        base = self._base(member_id)
        keys = [
            f"{base}issued:{week}:{member_id}",
            f"{base}counters",
            f"{base}history:{member_id}",
            f"{base}budget:{budget.week if budget else week}",
        ]
        limit = share(budget.limit, self.config.buckets) if budget else 0.0
        args: list[bytes | str | int | float] = [
            payload,
            ttl_s,
            history if history is not None else b"",
            max(history_ttl_s, 1),
            "1" if budget is not None else "0",
            repr(budget.cost) if budget else "0",
            repr(limit),
            *counters,
        ]
        with self._safe["issue"]:
            reply = await self._wire.evalsha(self._issue_sha, ISSUE, keys, args)
        if reply[0] == 0:
            return IssueResult(reply[1], won=False)
        if reply[0] == 2:
            return IssueResult(b"", won=False, over_budget=True)
        return IssueResult(payload, won=True)

    async def get_history(self, member_id: str) -> bytes | None:
        """The member's offer history blob."""
        with self._safe["read"]:
            return _bytes(await self._client.get(f"{self._base(member_id)}history:{member_id}"))

    async def budget_spent(self, week: int) -> float:
        """Expected reward cost issued so far in ``week`` (the sum over the buckets)."""
        with self._safe["read"]:
            values = await self._each_bucket("get", f"budget:{week}")
        return sum(float(v) for v in values if v is not None)

    async def _each_bucket(self, command: str, suffix: str) -> list[Any]:
        pipe = self._client.pipeline(transaction=False)
        for base in self._bases:  # one key per command: on a cluster they live in different slots
            getattr(pipe, command)(f"{base}{suffix}")
        return list(await pipe.execute())

    async def get_issued(self, week: int, member_id: str) -> bytes | None:
        """The challenge issued to the member in ``week``."""
        with self._safe["read"]:
            return _bytes(await self._client.get(f"{self._base(member_id)}issued:{week}:{member_id}"))

    async def incr(self, counter: str, amount: int = 1) -> None:
        """Add ``amount`` to a counter (kept in the first bucket; counters are read as sums)."""
        with self._safe["counters"]:
            await self._client.hincrby(f"{self._bases[0]}counters", counter, amount)

    async def counters(self) -> dict[str, int]:
        """Every counter and its value (the sum over the buckets)."""
        with self._safe["counters"]:
            hashes = await self._each_bucket("hgetall", "counters")
        total: dict[str, int] = {}
        for raw in hashes:
            for k, v in raw.items():
                name = _text(k) or ""
                total[name] = total.get(name, 0) + int(v)
        return total

    async def ping(self) -> None:
        """Raise :class:`StoreUnavailable` unless Redis answers PING."""
        with self._safe["ping"]:
            await self._client.ping()

    async def durability(self) -> str | None:
        """Whether Redis persists (``CONFIG GET appendonly`` / ``save``); a CONFIG refused is said so."""
        try:
            with self._safe["ping"]:
                aof = await self._client.config_get("appendonly")
                rdb = await self._client.config_get("save")
        except StoreUnavailable as exc:
            if not isinstance(exc.__cause__, ResponseError):
                raise
            # CONFIG renamed or disabled (managed Redis, ACLs): we cannot tell, so say so.
            return (
                f"cannot tell whether Redis persists its data (CONFIG GET refused: {exc.__cause__}); "
                "unless it runs with appendonly yes, a Redis restart loses every issued challenge"
            )
        config = {_text(k): _text(v) for k, v in (aof | rdb).items()}
        return persistence_warning(config.get("appendonly"), config.get("save"))

    async def bench_get(self) -> bytes | None:
        """A single plain GET."""
        with self._safe["read"]:
            value: bytes | None = await self._wire.call(self._bench, "GET", self._bench)
        return value

    async def close(self) -> None:
        """Close the connection pool."""
        await self._wire.close()
        await self._client.aclose()
