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
-- The buyer has bought and holds nothing more: in the waiting room they stop shopping, so their
-- place among the max_active shoppers goes to the next number now, not when their window ends.
local user = string.match(owner, '^u(%d+)$')
if user and redis.call('HEXISTS', OWNERS, owner) == 0 then redis.call('ZREM', KEYS[13], user) end
if #sold == 0 then return ok({version = version()}) end
return ok({version = publish('sold', sold, tag)})
