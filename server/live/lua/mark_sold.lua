-- mark_sold: tickets are committed in PostgreSQL (the truth), so the seats become sold
-- whoever held them. ARGV: owner, tag, seat ids...
local owner, tag = ARGV[1], ARGV[2]
local ids, stop = sale_step(3)
if not ids then return stop end
local sold = {}
for _, id in ipairs(ids) do
  if redis.call('SISMEMBER', SOLD, id) == 0 then
    local holder = redis.call('HGET', HOLDS, id)
    if holder then
      redis.call('HDEL', HOLDS, id)
      owner_drop(holder, {id})
    end
    redis.call('HDEL', SALES, id)
    redis.call('SADD', SOLD, id)
    sold[#sold + 1] = id
  end
end
if #sold == 0 then return ok({version = version()}) end
return ok({version = publish('sold', sold, tag)})
