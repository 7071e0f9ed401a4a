-- lock_for_sale: each seat is held by the owner or free, and locked for no other sale -> all
-- held by the owner and locked for this sale (exempt from expiry). Otherwise nothing changes and
-- the lost seats are returned: a seat another order of the same owner is selling is lost too, so
-- of two orders for the same seats (two tabs paid at once) only one ever gets to sell them.
-- ARGV: owner, tag, ttl_ms, max_total_ms, max_seats, sale (the order key), seat ids...
local owner, tag = ARGV[1], ARGV[2]
local ttl_ms, max_total_ms, max_seats, sale = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]
local ids, info = sale_step(7)
if not ids then return info end
local fresh, lost = {}, {}
local holders = redis.call('HMGET', HOLDS, unpack(ids))
local sales = redis.call('HMGET', SALES, unpack(ids))
for i, id in ipairs(ids) do
  if sales[i] and sales[i] ~= sale then
    lost[#lost + 1] = id
  elseif holders[i] ~= owner then
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
for _, id in ipairs(ids) do redis.call('HSET', SALES, id, sale) end
touch_ttl()
return ok({version = v})
