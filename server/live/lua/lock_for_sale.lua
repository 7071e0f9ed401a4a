-- lock_for_sale: each seat is held by the owner or free -> all held by the owner, "selling"
-- (exempt from expiry). Otherwise nothing changes and the lost seats are returned.
-- ARGV: owner, tag, ttl_ms, max_total_ms, max_seats, seat ids...
local owner, tag = ARGV[1], ARGV[2]
local ttl_ms, max_total_ms, max_seats = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local ids, info = sale_step(6)
if not ids then return info end
local fresh, lost = {}, {}
local holders = redis.call('HMGET', HOLDS, unpack(ids))
for i, id in ipairs(ids) do
  if holders[i] ~= owner then
    if holders[i] or info[id].blocked or redis.call('SISMEMBER', SOLD, id) == 1 then
      lost[#lost + 1] = id
    else
      fresh[#fresh + 1] = id
    end
  end
end
if #lost > 0 then return err('seat_taken', num_list(lost)) end
if owned_count(owner) + #fresh > max_seats then return err('limit_exceeded') end
local v = version()
if #fresh > 0 then v = grant(owner, tag, fresh, ttl_ms, max_total_ms).version end
for _, id in ipairs(ids) do redis.call('SADD', SELLING, id) end
touch_ttl()
return ok({version = v})
