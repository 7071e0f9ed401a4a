-- unlock: a sale failed, so the owner's seats locked for it are released.
-- Seats the owner no longer holds are left alone. ARGV: owner, tag, seat ids...
local owner, tag = ARGV[1], ARGV[2]
local ids, stop = sale_step(3)
if not ids then return stop end
local gone = {}
local holders = redis.call('HMGET', HOLDS, unpack(ids))
for i, id in ipairs(ids) do
  if holders[i] == owner then
    redis.call('SREM', SELLING, id)
    redis.call('HDEL', HOLDS, id)
    gone[#gone + 1] = id
  end
end
if #gone == 0 then return ok({version = version()}) end
owner_drop(owner, gone)
return ok({version = publish('released', gone, tag)})
