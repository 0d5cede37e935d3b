"""Lua scripts of the Redis event store (:mod:`engine.experiments.redis_store`).

Each write is one script so that an event and its effects land together or not at all; the serving
layer also runs :data:`EXPOSE_SCRIPT` on its own async connection (``EVALSHA``).
"""

from __future__ import annotations

#: Which picks of challenge ``ch`` are bought: ``bought`` is the week's set of items bought, ``cats`` its
#: hash category -> first product of it bought. Returns one flag per pick (its own item bought), whether
#: every pick is bought (the stretch pick, last, also by any product of ``ch.stretch_category``), and
#: that first product of the stretch category ('' when none, or for a challenge without a category).
_PICKS_BOUGHT = """
local function picks_bought(ch, bought, cats)
  local cat = ''
  if type(ch.stretch_category) == 'string' then
    cat = redis.call('HGET', cats, ch.stretch_category) or ''
  end
  local flags, all = {}, 1
  for i, item in ipairs(ch.item_ids) do
    local flag = redis.call('SISMEMBER', bought, item)
    if flag == 0 and not (i == #ch.item_ids and cat ~= '') then all = 0 end
    table.insert(flags, flag)
  end
  return flags, all, cat
end
"""

#: Append one event (exactly once by event id; a different body under the same id is a conflict) and,
#: for an exposure, store the week's challenge (which must never change). For a purchase that earns,
#: ARGV[5] is its item (joins the week's bought set KEYS[4]) and ARGV[6] its category ('' when unknown),
#: whose first product bought is kept in KEYS[5] (HSETNX).
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
if ARGV[5] and ARGV[5] ~= '' then
  redis.call('SADD', KEYS[4], ARGV[5])
  if ARGV[6] and ARGV[6] ~= '' then redis.call('HSETNX', KEYS[5], ARGV[6], ARGV[5]) end
end
return 1
"""

#: Issue the week's reward once (HSETNX) when every pick of a shown challenge has been bought.
COMPLETE = (
    _PICKS_BOUGHT
    + """
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local ch = cjson.decode(raw)
if ch.shown == 0 then return 0 end
local _, all = picks_bought(ch, KEYS[2], KEYS[4])
if all == 0 then return 0 end
local reward = cjson.encode({experiment = ch.experiment, arm = ch.arm, reward_cost = ch.reward_cost,
                             issued_at = ARGV[2]})
return redis.call('HSETNX', KEYS[3], ARGV[1], reward)
"""
)

# One exposure in one round trip (the serving layer also runs it on its own async connection): the
# append of APPEND, the answer served (KEYS[7], ARGV[6]; kept first-wins), the reward check of COMPLETE
# and the reads of the week's progress. Reply: the challenge JSON, then (shown challenges only) reward
# issued now, reward issued, one bought flag per pick (its own item) and the first product of the stretch
# category bought ('' when none).
EXPOSE_SCRIPT = (
    _PICKS_BOUGHT
    + """
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
if ARGV[6] ~= '' then redis.call('HSETNX', KEYS[7], ARGV[3], ARGV[6]) end
local raw = redis.call('HGET', KEYS[3], ARGV[3])
local ch = cjson.decode(raw)
if ch.shown == 0 then return {raw} end
local out = {raw, 0, 0}
local flags, all, cat = picks_bought(ch, KEYS[4], KEYS[6])
for _, flag in ipairs(flags) do table.insert(out, flag) end
table.insert(out, cat)
if all == 1 then
  local reward = cjson.encode({experiment = ch.experiment, arm = ch.arm, reward_cost = ch.reward_cost,
                               issued_at = ARGV[5]})
  out[2] = redis.call('HSETNX', KEYS[5], ARGV[3], reward)
end
out[3] = redis.call('HEXISTS', KEYS[5], ARGV[3])
return out
"""
)

#: Record an experiment's assignment fingerprint, or return the one already recorded.
LOCK = """
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) return ARGV[2] end
return cur
"""

#: Append one member signal (exactly once by event id, like APPEND) and, for an opt-out or opt-in
#: (ARGV[4] its order key, '' otherwise), make it the member's state in KEYS[3] unless a later one is
#: there: the state is "<order key>#<kind>", and order keys compare as text. Each new signal also counts
#: in KEYS[4], field "<member>#<kind>" (what the rules' reaction rate reads).
SIGNAL = """
local seen = redis.call('HGET', KEYS[1], ARGV[1])
if seen then
  if seen == ARGV[2] then return 0 end
  return redis.error_reply('CONFLICT event ' .. ARGV[1] .. ' already recorded as ' .. seen)
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('XADD', KEYS[2], '*', 'event', ARGV[2])
redis.call('HINCRBY', KEYS[4], ARGV[3] .. '#' .. ARGV[5], 1)
if ARGV[4] ~= '' then
  local cur = redis.call('HGET', KEYS[3], ARGV[3])
  if not cur or ARGV[4] >= string.match(cur, '^(.*)#') then
    redis.call('HSET', KEYS[3], ARGV[3], ARGV[4] .. '#' .. ARGV[5])
  end
end
return 1
"""
