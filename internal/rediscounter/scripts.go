package rediscounter

import "github.com/redis/go-redis/v9"

// reserveScript checks every limit of one admission and, only if all have room, reserves on all of them: the
// same arithmetic as governance.SlidingWindow and governance.PeriodCounter, on counts Redis holds exactly
// (INCRBY is int64); the comparisons run in Lua's doubles, exact below 2^53.
//
// ARGV[1] is the number of items; then 7 per item: kind ("w" sliding window, "p" budget period), n, limit, cap
// (the largest count the key may hold), remaining and width (ns, windows only), ttl (ms, 0: none).
// KEYS: per window item the current then the previous window's key; per period item the period's key.
// Returns {refused item (1-based, 0: all reserved), then per item the counts before: current, previous}.
var reserveScript = redis.NewScript(`
local items = tonumber(ARGV[1])
local out = {0}
local k, a = 1, 2
for i = 1, items do
  local n, limit, cap = tonumber(ARGV[a+1]), tonumber(ARGV[a+2]), tonumber(ARGV[a+3])
  local curs = redis.call('GET', KEYS[k]) or '0'
  local cur, prevs = tonumber(curs), '0'
  local used = cur
  if ARGV[a] == 'w' then
    prevs = redis.call('GET', KEYS[k+1]) or '0'
    local prev, remaining, width = tonumber(prevs), tonumber(ARGV[a+4]), tonumber(ARGV[a+5])
    if prev > 0 and remaining > 0 then
      used = used + math.ceil(prev * remaining / width)
    end
    k = k + 2
  else
    k = k + 1
  end
  -- Compared as room left, not used+n: a huge n must not pass.
  if out[1] == 0 and (n > limit - used or n > cap - cur) then
    out[1] = i
  end
  out[#out+1] = curs
  out[#out+1] = prevs
  a = a + 7
end
if out[1] ~= 0 then
  return out
end
k, a = 1, 2
for i = 1, items do
  local key = KEYS[k]
  if type(redis.pcall('INCRBY', key, ARGV[a+1])) == 'table' then
    redis.call('SET', key, ARGV[a+3]) -- int64 overflow: saturate
  end
  local ttl = tonumber(ARGV[a+6])
  if ttl > 0 then
    redis.call('PEXPIRE', key, ttl)
  end
  if ARGV[a] == 'w' then k = k + 2 else k = k + 1 end
  a = a + 7
end
return out
`)

// adjustScript applies deltas (settle to actuals, release), held within [0, cap] with saturating arithmetic.
//
// ARGV[1] is the number of items; then 4 per item: delta, cap, ttl (ms, 0: none), only_if_exists ("1": a
// previous window never written gets no correction). KEYS: one per item.
var adjustScript = redis.NewScript(`
for i = 1, tonumber(ARGV[1]) do
  local key, a = KEYS[i], 2 + (i - 1) * 4
  if ARGV[a+3] ~= '1' or redis.call('EXISTS', key) == 1 then
    local delta, cap = ARGV[a], ARGV[a+1]
    local r = redis.pcall('INCRBY', key, delta)
    if type(r) == 'table' then
      if tonumber(delta) > 0 then redis.call('SET', key, cap) else redis.call('SET', key, '0') end
    elseif r < 0 then
      redis.call('SET', key, '0')
    elseif r > tonumber(cap) then
      redis.call('SET', key, cap)
    end
    local ttl = tonumber(ARGV[a+2])
    if ttl > 0 then
      redis.call('PEXPIRE', key, ttl)
    end
  end
end
return 0
`)
