"""Lua scripts of the Redis online store (:mod:`engine.serve.redis_store`); each touches one hash slot.

Member scripts (:data:`LOOKUP`, :data:`ISSUE`) touch only keys of the member's bucket (one hash tag, see
:mod:`engine.redis_slots`); model scripts (:data:`SWITCH`, :data:`ROLLBACK`) only the ``{m}`` keys (the
version pointers and each version's shared blobs). A model version's data lives in a key space
``<version>@<load>``: every publish writes a fresh one, so nothing a request may read is written in place.
"""

from __future__ import annotations

#: The marker field every bucket hash of a loaded key space holds (no member id is empty), so a script can
#: tell "this member is unknown to the version" from "this version's keys are gone".
MARKER = ""

# KEYS: issued, history, members of the key space in ARGV[2] (when given)
# ARGV: member_id, key space ('' none), pointer key (one node: read the key space here), members key prefix
# Reply: {1, issued} | {0} no model | {2, key space, record, history} | {3} key space gone (re-read pointer)
LOOKUP = """
local issued = redis.call('GET', KEYS[1])
if issued then return {1, issued} end
local space, members = ARGV[2], KEYS[3]
if ARGV[3] ~= '' then
  space = redis.call('GET', ARGV[3])
  if not space then return {0} end
  members = ARGV[4] .. space
elseif space == '' then return {0} end
if redis.call('HEXISTS', members, '') == 0 then return {3} end
return {2, space, redis.call('HGET', members, ARGV[1]), redis.call('GET', KEYS[2])}
"""

# KEYS: issued, counters, history, budget
# ARGV: payload, ttl, history ('' = none), history ttl, budget? ('1'/'0'), cost, limit, counters...
# Lua runs atomically, so GET-then-SET here is the SET NX the contract asks for.
ISSUE = """
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

# KEYS: current, previous, shared of the new key space; ARGV: new key space, shared key prefix
# The one atomic step of a publish: every member bucket of the new key space is loaded before it runs.
# Reply: {key space current before ('' none), key space to drop ('' none)}; its shared hash is already gone.
SWITCH = """
local function version(space) return string.match(space, '^(.*)@') end
if redis.call('EXISTS', KEYS[3]) == 0 then return redis.error_reply('the shared blobs were not loaded') end
local cur = redis.call('GET', KEYS[1])
local prev = redis.call('GET', KEYS[2])
local drop = ''
if cur and version(cur) == version(ARGV[1]) then
  drop = cur
else
  if cur then redis.call('SET', KEYS[2], cur) end
  if prev and prev ~= cur then drop = prev end
end
redis.call('SET', KEYS[1], ARGV[1])
if drop ~= '' then redis.call('UNLINK', ARGV[2] .. drop) end
return {cur or '', drop}
"""

# KEYS: current, previous; ARGV: shared key prefix. Reply: the key space now current, or nil.
ROLLBACK = """
local cur = redis.call('GET', KEYS[1])
local prev = redis.call('GET', KEYS[2])
if not prev or redis.call('EXISTS', ARGV[1] .. prev) == 0 then return false end
redis.call('SET', KEYS[1], prev)
redis.call('SET', KEYS[2], cur)
return prev
"""

# KEYS: layout; ARGV: bucket count. Records the count on first use; replies the recorded one.
LAYOUT = """
redis.call('SETNX', KEYS[1], ARGV[1])
return redis.call('GET', KEYS[1])
"""
