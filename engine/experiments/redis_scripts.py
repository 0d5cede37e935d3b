"""Lua scripts of the Redis event store (:mod:`engine.experiments.redis_store`).

Each write is one script so that an event and its effects land together or not at all; the serving
layer also runs :data:`EXPOSE_SCRIPT` on its own async connection (``EVALSHA``).
"""

from __future__ import annotations

#: Append one event (exactly once by event id; a different body under the same id is a conflict) and,
#: for an exposure, store the week's challenge (which must never change).
APPEND = """
local seen = redis.call('HGET', KEYS[1], ARGV[1])
if seen then
  if seen == ARGV[2] then return 0 end
  return redis.error_reply('CONFLICT event ' .. ARGV[1] .. ' already recorded as ' .. seen)
end
if ARGV[3] and ARGV[3] ~= '' then
  local cur = redis.call('HGET', KEYS[3], ARGV[3])
  if cur and cur ~= ARGV[4] then
    return redis.error_reply("CONFLICT member|week " .. ARGV[3] .. ": already served " .. cur ..
                             ", now " .. ARGV[4] .. "; a week's challenge must not change")
  end
  if not cur then redis.call('HSET', KEYS[3], ARGV[3], ARGV[4]) end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('XADD', KEYS[2], '*', 'event', ARGV[2])
if ARGV[5] and ARGV[5] ~= '' then redis.call('SADD', KEYS[4], ARGV[5]) end
return 1
"""

#: Issue the week's reward once (HSETNX) when every pick of a shown challenge has been bought.
COMPLETE = """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local ch = cjson.decode(raw)
if ch.shown == 0 then return 0 end
for _, item in ipairs(ch.item_ids) do
  if redis.call('SISMEMBER', KEYS[2], item) == 0 then return 0 end
end
local reward = cjson.encode({experiment = ch.experiment, arm = ch.arm, reward_cost = ch.reward_cost,
                             issued_at = ARGV[2]})
return redis.call('HSETNX', KEYS[3], ARGV[1], reward)
"""

# One exposure in one round trip (the serving layer also runs it on its own async connection): the
# append of APPEND, the answer served (KEYS[6], ARGV[6]; kept first-wins), the reward check of COMPLETE
# and the reads of the week's progress. Reply: the challenge JSON, then (shown challenges only) reward
# issued now, reward issued, one bought flag per pick.
EXPOSE_SCRIPT = """
local seen = redis.call('HGET', KEYS[1], ARGV[1])
if seen then
  if seen ~= ARGV[2] then
    return redis.error_reply('CONFLICT event ' .. ARGV[1] .. ' already recorded as ' .. seen)
  end
else
  local cur = redis.call('HGET', KEYS[3], ARGV[3])
  if cur and cur ~= ARGV[4] then
    return redis.error_reply("CONFLICT member|week " .. ARGV[3] .. ": already served " .. cur ..
                             ", now " .. ARGV[4] .. "; a week's challenge must not change")
  end
  if not cur then redis.call('HSET', KEYS[3], ARGV[3], ARGV[4]) end
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  redis.call('XADD', KEYS[2], '*', 'event', ARGV[2])
end
if ARGV[6] ~= '' then redis.call('HSETNX', KEYS[6], ARGV[3], ARGV[6]) end
local raw = redis.call('HGET', KEYS[3], ARGV[3])
local ch = cjson.decode(raw)
if ch.shown == 0 then return {raw} end
local out = {raw, 0, 0}
local all = 1
for _, item in ipairs(ch.item_ids) do
  local flag = redis.call('SISMEMBER', KEYS[4], item)
  if flag == 0 then all = 0 end
  table.insert(out, flag)
end
if all == 1 then
  local reward = cjson.encode({experiment = ch.experiment, arm = ch.arm, reward_cost = ch.reward_cost,
                               issued_at = ARGV[5]})
  out[2] = redis.call('HSETNX', KEYS[5], ARGV[3], reward)
end
out[3] = redis.call('HEXISTS', KEYS[5], ARGV[3])
return out
"""

#: Record an experiment's assignment fingerprint, or return the one already recorded.
LOCK = """
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) return ARGV[2] end
return cur
"""
