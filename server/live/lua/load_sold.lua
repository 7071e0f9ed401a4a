-- load_sold: the sold set from PostgreSQL (the truth). Mode 'create' only fills a missing set
-- (warm-up); 'replace' rebuilds it and announces the differences ("sold", then "freed").
-- Seats sold now but still held in Redis lose their hold. ARGV: mode, seat ids...
local mode = ARGV[1]
local exists = redis.call('EXISTS', SOLD) == 1
if mode == 'create' and exists then return ok({version = version()}) end
local fresh, before = {}, {}
for i = 2, #ARGV do fresh[ARGV[i]] = true end
if exists then
  for _, id in ipairs(redis.call('SMEMBERS', SOLD)) do before[id] = true end
end
local added, removed = {}, {}
for id in pairs(fresh) do if not before[id] then added[#added + 1] = id end end
for id in pairs(before) do if id ~= '-' and not fresh[id] then removed[#removed + 1] = id end end
for _, id in ipairs(added) do
  local holder = redis.call('HGET', HOLDS, id)
  if holder then
    redis.call('HDEL', HOLDS, id)
    redis.call('HDEL', SALES, id)
    owner_drop(holder, {id})
  end
end
redis.call('DEL', SOLD)
redis.call('SADD', SOLD, '-')
for i = 2, #ARGV, 1000 do
  redis.call('SADD', SOLD, unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
local at = redis.call('HGET', META, 'expire_at')
if at then redis.call('PEXPIRE', SOLD, keep_ms(at)) end
-- A set created from nothing announces nothing: no client can have seen it.
if exists then
  if #added > 0 then publish('sold', added, '') end
  if #removed > 0 then publish('freed', removed, '') end
end
return ok({version = version()})
