-- mark_sold: tickets are committed in PostgreSQL (the truth), so the seats become sold
-- whoever held them. ARGV: owner, tag, seat ids...
local owner, tag = ARGV[1], ARGV[2]
local ids = {}
for i = 3, #ARGV do ids[#ids + 1] = ARGV[i] end

if is_cold() then return cjson.encode({cold = 1}) end
expire_overdue()
local _, unknown = seats_info(ids)
if #unknown > 0 then return err('unknown_seat', num_list(unknown)) end
local sold = {}
for _, id in ipairs(ids) do
  if redis.call('SISMEMBER', SOLD, id) == 0 then
    local holder = redis.call('HGET', HOLDS, id)
    if holder then
      redis.call('HDEL', HOLDS, id)
      owner_drop(holder, {id})
    end
    redis.call('SREM', SELLING, id)
    redis.call('SADD', SOLD, id)
    sold[#sold + 1] = id
  end
end
if #sold == 0 then return ok({version = version()}) end
return ok({version = publish('sold', sold, tag)})
