-- free_sold: tickets were cancelled or refunded in PostgreSQL; the seats are free again.
-- ARGV: seat ids...
if is_cold() then return cjson.encode({cold = 1}) end
expire_overdue()
local _, unknown = seats_info(ARGV)
if #unknown > 0 then return err('unknown_seat', num_list(unknown)) end
local freed = {}
for _, id in ipairs(ARGV) do
  if redis.call('SREM', SOLD, id) == 1 then freed[#freed + 1] = id end
end
if #freed == 0 then return ok({version = version()}) end
return ok({version = publish('freed', freed, '')})
