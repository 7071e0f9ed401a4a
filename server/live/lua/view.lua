-- view: read the screening's state (after lazy expiry).
-- ARGV: mode ('snapshot'|'counts'|'mine'), owner ('' for nobody)
local mode, owner = ARGV[1], ARGV[2]
if is_cold() then return cjson.encode({cold = 1}) end
expire_overdue()
local capacity = tonumber(redis.call('HGET', META, 'capacity') or '0')
local sold_n, held_n = sold_count(), redis.call('HLEN', HOLDS)
local free = math.max(capacity - sold_n - held_n, 0)
local counts = {capacity = capacity, sold = sold_n, held = held_n, free = free,
                houseful = free == 0, version = version()}
if mode == 'counts' then
  -- closes_at: holding ends then (unix ms; 0 = not on sale: cancelled). Rooms need it (taken.py).
  local status, starts = unpack(redis.call('HMGET', META, 'status', 'starts_at'))
  counts.closes_at = status == 'scheduled' and tonumber(starts or '0') or 0
  return ok(counts)
end
local rec = owner ~= '' and owner_get(owner) or nil
local mine = rec and num_list(rec.seats) or {}
local deadline = owner ~= '' and tonumber(redis.call('ZSCORE', DEADLINES, owner)) or nil
if mode == 'mine' then return ok({seats = mine, deadline = deadline}) end
local sold = {}
for _, id in ipairs(redis.call('SMEMBERS', SOLD)) do
  if id ~= '-' then sold[#sold + 1] = tonumber(id) end
end
local meta = redis.call('HMGET', META, 'prices', 'blocked', 'status', 'starts_at')
return ok({
  version = counts.version, held = num_list(redis.call('HKEYS', HOLDS)), sold = sold,
  blocked = num_list(split(meta[2], ',')), mine = mine, deadline = deadline,
  houseful = counts.houseful, prices = meta[1], counts = counts,
  closed = is_closed(), starts_at = tonumber(meta[4]),
})
