-- release: the owner gives seats back (mode 'all' = every seat not locked for a sale).
-- ARGV: owner, tag, mode ('all'|'some'), seat ids...
local owner, tag, mode = ARGV[1], ARGV[2], ARGV[3]
local ids = argv_from(4)

if is_cold() then return cjson.encode({cold = 1}) end
expire_overdue()
local rec = owner_get(owner)
local gone = {}
if mode == 'all' then
  for _, s in ipairs(rec and rec.seats or {}) do
    if redis.call('HEXISTS', SALES, s) == 0 then gone[#gone + 1] = s end
  end
else
  local _, unknown = seats_info(ids)
  if #unknown > 0 then return err('unknown_seat', num_list(unknown)) end
  -- Only the holder may release, and not while the seats are being sold.
  local foreign = {}
  local holders = redis.call('HMGET', HOLDS, unpack(ids))
  for i, id in ipairs(ids) do
    if holders[i] ~= owner or redis.call('HEXISTS', SALES, id) == 1 then
      foreign[#foreign + 1] = id
    end
  end
  if #foreign > 0 then return err('not_held', num_list(foreign)) end
  gone = ids
end
if #gone == 0 then return ok({seats = {}, version = version()}) end
for _, s in ipairs(gone) do redis.call('HDEL', HOLDS, s) end
owner_drop(owner, gone)
local left = hand_to_waitlist(gone)
if #left == 0 then return ok({seats = num_list(gone), version = version()}) end
return ok({seats = num_list(gone), version = publish('released', left, tag)})
