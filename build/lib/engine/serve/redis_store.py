"""The Redis store: production storage for model versions, issued challenges and counters.

Keys (``p`` is ``key_prefix``; several services or tests can share one Redis without clashing)::

    p:current, p:previous          model version names
    p:v:<version>:members          hash member_id -> candidate record
    p:v:<version>:shared           hash name -> blob (catalog, cold-start lists, manifest)
    p:staging:<version>:<token>:*  a version being loaded, renamed into place by the switch
    p:issued:<week>:<member_id>    the challenge issued to a member in a week (set once, with a TTL)
    p:history:<member_id>          the member's offer history blob
    p:budget:<week>                expected reward cost issued in a week (INCRBYFLOAT)
    p:counters                     hash counter -> integer

Hot paths are single round trips: :meth:`RedisStore.lookup` is one Lua script (issued challenge, else
the current version and the member's record in *that* version, read atomically, so a request never
mixes versions) and :meth:`RedisStore.issue_once` is one script (set-if-absent, with the budget check,
the counters and the history write done only by the winner, in the same atomic step). Publishing loads
a staging copy with pipelines and switches in one script.

Failure: short socket timeouts and no client-side retries, so a request fails fast with
:class:`~engine.errors.StoreUnavailable` (503) while Redis is away; the connection pool reconnects on the
next command, so the service recovers by itself. Scripts are re-sent automatically after a restart.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

import redis.asyncio as aioredis
from pydantic import Field
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from engine.config import StrictModel
from engine.errors import Conflict, StoreUnavailable
from engine.redis_errors import RedisErrors, redis_location
from engine.redis_wire import WireClient
from engine.serve.store import BudgetClaim, IssueResult, Lookup

# KEYS: issued, current, history; ARGV: "p:v:", member_id
_LOOKUP = """
local issued = redis.call('GET', KEYS[1])
if issued then return {1, issued} end
local version = redis.call('GET', KEYS[2])
if not version then return {0} end
local record = redis.call('HGET', ARGV[1] .. version .. ':members', ARGV[2])
return {2, version, record, redis.call('GET', KEYS[3])}
"""

# KEYS: issued, counters, history, budget
# ARGV: payload, ttl, history ('' = none), history ttl, budget? ('1'/'0'), cost, limit, counters...
# Lua runs atomically, so GET-then-SET here is the SET NX the contract asks for.
_ISSUE = """
local before = redis.call('GET', KEYS[1])
if before then return {0, before} end
if ARGV[5] == '1' then
  local spent = tonumber(redis.call('GET', KEYS[4]) or '0')
  if spent + tonumber(ARGV[6]) > tonumber(ARGV[7]) then return {2} end
  redis.call('INCRBYFLOAT', KEYS[4], ARGV[6])
  redis.call('EXPIRE', KEYS[4], ARGV[2])
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
for i = 8, #ARGV do redis.call('HINCRBY', KEYS[2], ARGV[i], 1) end
if ARGV[3] ~= '' then redis.call('SET', KEYS[3], ARGV[3], 'EX', ARGV[4]) end
return {1}
"""

# KEYS: current, previous, staging members, staging shared, final members, final shared
# ARGV: version, "p:v:" (to name the versions that fall out of the rollback window)
_SWITCH = """
if redis.call('EXISTS', KEYS[3]) == 1 then redis.call('RENAME', KEYS[3], KEYS[5])
else redis.call('DEL', KEYS[5]) end
redis.call('RENAME', KEYS[4], KEYS[6])
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then return cur end
local prev = redis.call('GET', KEYS[2])
if cur then redis.call('SET', KEYS[2], cur) end
redis.call('SET', KEYS[1], ARGV[1])
if prev and prev ~= ARGV[1] and prev ~= cur then
  redis.call('UNLINK', ARGV[2] .. prev .. ':members', ARGV[2] .. prev .. ':shared')
end
return cur
"""

# KEYS: current, previous; ARGV: "p:v:"
_ROLLBACK = """
local cur = redis.call('GET', KEYS[1])
local prev = redis.call('GET', KEYS[2])
if not prev or redis.call('EXISTS', ARGV[1] .. prev .. ':shared') == 0 then return false end
redis.call('SET', KEYS[1], prev)
redis.call('SET', KEYS[2], cur)
return prev
"""


class RedisStoreConfig(StrictModel):
    """``[store] type = "redis"``: where Redis is and how long to wait for it."""

    type: Literal["redis"] = "redis"
    url: str = Field(default="redis://127.0.0.1:6379/0", pattern=r"^redis://", description="redis:// URL")
    key_prefix: str = Field(default="offers", min_length=1, description="namespace of every key")
    socket_timeout_s: float = Field(default=0.25, gt=0, description="per-command wait before a 503")
    socket_connect_timeout_s: float = Field(default=1.0, gt=0, description="connect wait before a 503")
    max_connections: int = Field(default=16, ge=1, description="connection pool size")
    publish_batch: int = Field(default=1000, ge=1, description="records per pipelined HSET round trip")


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


class RedisStore:
    """A :class:`~engine.serve.store.Store` on Redis (redis-py asyncio with the hiredis parser)."""

    def __init__(self, config: RedisStoreConfig) -> None:
        self.config = config
        # A blocking pool makes a burst beyond max_connections wait (up to the socket timeout) for a free
        # connection instead of failing at once.
        pool = aioredis.BlockingConnectionPool.from_url(
            config.url,
            socket_timeout=config.socket_timeout_s,
            socket_connect_timeout=config.socket_connect_timeout_s,
            max_connections=config.max_connections,
            timeout=config.socket_timeout_s,
            # Fail fast: a retry after a timeout would only multiply the wait the caller sees during an
            # outage. One immediate retry after a connection error: a pooled connection Redis dropped
            # (a restart) fails once on use, and the retry reconnects at once.
            retry=Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
        )
        self._client = aioredis.Redis(connection_pool=pool)
        p = config.key_prefix
        self._current = f"{p}:current"
        self._previous = f"{p}:previous"
        self._versions = f"{p}:v:"
        self._issued = f"{p}:issued:"
        self._counters = f"{p}:counters"
        self._history = f"{p}:history:"
        self._budget = f"{p}:budget:"
        self._bench = f"{p}:bench"
        # The hot commands (lookup, issue, the benchmark GET) go over a lean pipelined connection.
        self._wire = WireClient.from_url(config.url, config.socket_timeout_s, config.socket_connect_timeout_s)
        self._lookup_sha = hashlib.sha1(_LOOKUP.encode()).hexdigest()
        self._issue_sha = hashlib.sha1(_ISSUE.encode()).hexdigest()
        self._switch = self._client.register_script(_SWITCH)
        self._rollback = self._client.register_script(_ROLLBACK)
        where = f"online store unavailable: Redis at {redis_location(config.url)}"
        self._safe = {
            name: RedisErrors(where, name)
            for name in ("publish", "rollback", "read", "lookup", "issue", "counters", "ping")
        }

    def _members_key(self, version: str) -> str:
        return f"{self._versions}{version}:members"

    def _shared_key(self, version: str) -> str:
        return f"{self._versions}{version}:shared"

    async def publish(
        self, version: str, records: Iterable[tuple[str, bytes]], shared: Mapping[str, bytes]
    ) -> str | None:
        """Load a staging copy in pipelined batches, then rename it into place and switch atomically."""
        staging = f"{self.config.key_prefix}:staging:{version}:{secrets.token_hex(8)}"
        staged_members, staged_shared = f"{staging}:members", f"{staging}:shared"
        with self._safe["publish"]:
            try:
                pipe = self._client.pipeline(transaction=False)
                batch: dict[str, bytes] = {}
                for member_id, record in records:
                    batch[member_id] = record
                    if len(batch) >= self.config.publish_batch:
                        pipe.hset(staged_members, mapping=batch)  # type: ignore[arg-type]
                        await pipe.execute()
                        batch = {}
                if batch:
                    pipe.hset(staged_members, mapping=batch)  # type: ignore[arg-type]
                pipe.delete(staged_shared)
                if shared:
                    pipe.hset(staged_shared, mapping=dict(shared))  # type: ignore[arg-type]
                await pipe.execute()
                keys = [
                    self._current,
                    self._previous,
                    staged_members,
                    staged_shared,
                    self._members_key(version),
                    self._shared_key(version),
                ]
                before = await self._switch(keys=keys, args=[version, self._versions])
            except BaseException:
                await self._client.unlink(staged_members, staged_shared)
                raise
        return _text(before)

    async def rollback(self) -> str:
        """Swap ``current`` and ``previous`` in one script."""
        with self._safe["rollback"]:
            result = await self._rollback(keys=[self._current, self._previous], args=[self._versions])
        version = _text(result)
        if version is None:
            raise Conflict("no previous model version to roll back to")
        return version

    async def current_version(self) -> str | None:
        """The version new issuances read."""
        with self._safe["read"]:
            return _text(await self._client.get(self._current))

    async def previous_version(self) -> str | None:
        """The version a rollback returns to."""
        with self._safe["read"]:
            return _text(await self._client.get(self._previous))

    async def get_member(self, version: str, member_id: str) -> bytes | None:
        """One member's record in ``version``."""
        with self._safe["read"]:
            value = _bytes(await self._client.hget(self._members_key(version), member_id))
        return value

    async def get_shared(self, version: str, name: str) -> bytes | None:
        """A shared blob of ``version``."""
        with self._safe["read"]:
            value = _bytes(await self._client.hget(self._shared_key(version), name))
        return value

    async def lookup(self, week: int, member_id: str) -> Lookup:
        """One script: issued challenge, else current version and the member's record in it."""
        with self._safe["lookup"]:
            reply = await self._wire.evalsha(
                self._lookup_sha,
                _LOOKUP,
                [f"{self._issued}{week}:{member_id}", self._current, f"{self._history}{member_id}"],
                [self._versions, member_id],
            )
        if reply[0] == 1:
            return Lookup(reply[1], None, None)
        if reply[0] == 0:
            return Lookup(None, None, None)
        return Lookup(None, _text(reply[1]), reply[2], reply[3])

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
        """One script: set-if-absent, budget check, counters and history, all or nothing."""
        keys = [
            f"{self._issued}{week}:{member_id}",
            self._counters,
            f"{self._history}{member_id}",
            f"{self._budget}{budget.week if budget else week}",
        ]
        args: list[bytes | str | int | float] = [
            payload,
            ttl_s,
            history if history is not None else b"",
            max(history_ttl_s, 1),
            "1" if budget is not None else "0",
            repr(budget.cost) if budget else "0",
            repr(budget.limit) if budget else "0",
            *counters,
        ]
        with self._safe["issue"]:
            reply = await self._wire.evalsha(self._issue_sha, _ISSUE, keys, args)
        if reply[0] == 0:
            return IssueResult(reply[1], won=False)
        if reply[0] == 2:
            return IssueResult(b"", won=False, over_budget=True)
        return IssueResult(payload, won=True)

    async def get_history(self, member_id: str) -> bytes | None:
        """The member's offer history blob."""
        with self._safe["read"]:
            value = _bytes(await self._client.get(f"{self._history}{member_id}"))
        return value

    async def budget_spent(self, week: int) -> float:
        """Expected reward cost issued so far in ``week``."""
        with self._safe["read"]:
            value = _bytes(await self._client.get(f"{self._budget}{week}"))
        return 0.0 if value is None else float(value)

    async def get_issued(self, week: int, member_id: str) -> bytes | None:
        """The challenge issued to the member in ``week``."""
        with self._safe["read"]:
            value = _bytes(await self._client.get(f"{self._issued}{week}:{member_id}"))
        return value

    async def incr(self, counter: str, amount: int = 1) -> None:
        """Add ``amount`` to a counter."""
        with self._safe["counters"]:
            await self._client.hincrby(self._counters, counter, amount)

    async def counters(self) -> dict[str, int]:
        """Every counter and its value."""
        with self._safe["counters"]:
            raw = await self._client.hgetall(self._counters)
        return {_text(k) or "": int(v) for k, v in raw.items()}

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
            value: bytes | None = await self._wire.execute("GET", self._bench)
        return value

    async def close(self) -> None:
        """Close the connection pool."""
        await self._wire.close()
        await self._client.aclose(close_connection_pool=True)
