-- unlock: a sale failed (or was undone before its seats were marked sold), so the owner's seats
-- held for it are released. Seats the owner no longer holds, and seats locked for another sale
-- (the owner's other order is selling them), are left alone: they must never be announced free.
-- ARGV: owner, tag, sale (the order key), seat ids...
local owner, tag, sale = ARGV[1], ARGV[2], ARGV[3]
local ids, stop = sale_step(4)
if not ids then return stop end
local gone = {}
local holders = redis.call('HMGET', HOLDS, unpack(ids))
local sales = redis.call('HMGET', SALES, unpack(ids))
for i, id in ipairs(ids) do
  if holders[i] == owner and (not sales[i] or sales[i] == sale) then
    redis.call('HDEL', SALES, id)
    redis.call('HDEL', HOLDS, id)
    gone[#gone + 1] = id
  end
end
if #gone == 0 then return ok({version = version()}) end
owner_drop(owner, gone)
gone = hand_to_waitlist(gone)
if #gone == 0 then return ok({version = version()}) end
return ok({version = publish('released', gone, tag)})
