-- free_sold: tickets were cancelled or refunded in PostgreSQL; the seats are free again.
-- ARGV: seat ids...
local ids, stop = sale_step(1)
if not ids then return stop end
local freed = {}
for _, id in ipairs(ids) do
  if redis.call('SREM', SOLD, id) == 1 then freed[#freed + 1] = id end
end
freed = hand_to_waitlist(freed)
if #freed == 0 then return ok({version = version()}) end
return ok({version = publish('freed', freed, '')})
