"""The Redis store's :class:`~engine.serve.programme_store.ProgrammeStore` (restored tiers, choices).

A mixin of :class:`~engine.serve.redis_store.RedisStore`. Keys (``B`` the member's bucket base, as for the
store's member keys: ``p:{b<k>}:`` on a cluster, ``p:`` with one bucket on one node)::

    B:restored:<member_id>         "<tier>|<until_week>" (with a TTL)
    B:choice:<week>:<member_id>    the option picked (expires with the week's answer)

Each write is one script on the member's slot, so a pick, the replaced answer and the released budget (the
bucket's share of the week's budget) land together.
"""

from __future__ import annotations

import redis.asyncio as aioredis

from engine.redis_errors import RedisErrors
from engine.redis_wire import Wire
from engine.serve.programme_store import ChoiceResult

# KEYS: restored; ARGV: "<tier>|<until>", until, ttl
_RESTORE = """
local cur = redis.call('GET', KEYS[1])
if cur and tonumber(string.match(cur, '|(%d+)$')) >= tonumber(ARGV[2]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
return 1
"""

# KEYS: choice, issued, budget; ARGV: option, payload, release
_CHOOSE = """
local ttl = redis.call('PTTL', KEYS[2])
if ttl == -2 then return {2} end
local cur = redis.call('GET', KEYS[1])
if cur then return {0, cur, redis.call('GET', KEYS[2])} end
redis.call('SET', KEYS[1], ARGV[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
redis.call('SET', KEYS[2], ARGV[2], 'KEEPTTL')
if tonumber(ARGV[3]) ~= 0 and redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('INCRBYFLOAT', KEYS[3], -tonumber(ARGV[3]))
end
return {1}
"""


class RedisProgramme:
    """Restored tiers and choices in Redis."""

    _client: aioredis.Redis
    _wire: Wire
    _safe: dict[str, RedisErrors]

    def _base(self, member_id: str) -> str:
        raise NotImplementedError  # the store's: the member's bucket base

    async def restore_tier(self, member_id: str, tier: str, until_week: int, ttl_s: int) -> bool:
        """Record the restoration unless one holding as long is there."""
        with self._safe["issue"]:
            done = await self._client.eval(
                _RESTORE,
                1,
                f"{self._base(member_id)}restored:{member_id}",
                f"{tier}|{until_week}",
                until_week,
                ttl_s,
            )
        return bool(done)

    async def restored_tier(self, member_id: str) -> tuple[str, int] | None:
        """The member's restoration, if one is recorded (on the lean connection: issuance reads it)."""
        with self._safe["lookup"]:
            key = f"{self._base(member_id)}restored:{member_id}"
            raw = await self._wire.call(key, "GET", key)
        if raw is None:
            return None
        tier, until = (raw.decode() if isinstance(raw, bytes) else str(raw)).split("|")
        return tier, int(until)

    async def choose_once(
        self, week: int, member_id: str, option: str, payload: bytes, release: float
    ) -> ChoiceResult:
        """Set-once pick, the answer replaced (same expiry) and the budget released, in one script."""
        base = self._base(member_id)
        keys = [
            f"{base}choice:{week}:{member_id}",
            f"{base}issued:{week}:{member_id}",
            f"{base}budget:{week}",
        ]
        with self._safe["issue"]:
            reply = await self._client.eval(_CHOOSE, 3, *keys, option, payload, repr(release))
        if reply[0] == 2:
            return ChoiceResult(None, None, won=False, issued=False)
        if reply[0] == 0:
            chosen = reply[1].decode() if isinstance(reply[1], bytes) else str(reply[1])
            return ChoiceResult(chosen, reply[2], won=False)
        return ChoiceResult(option, payload, won=True)
