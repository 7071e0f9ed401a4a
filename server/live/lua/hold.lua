-- hold: give the owner exactly these seats, or nothing (all-or-nothing).
-- ARGV: owner, tag, ttl_ms, max_total_ms, max_seats, release_window_ms, wheelchair(0|1), seat ids...
local owner, tag = ARGV[1], ARGV[2]
local ttl_ms, max_total_ms, max_seats = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local window_ms, wheelchair = tonumber(ARGV[6]), ARGV[7] == '1'
local ids = argv_from(8)

if is_cold() then return cjson.encode({cold = 1}) end
expire_overdue()
if is_closed() then return err('screening_closed') end
local info, unknown = seats_info(ids)
if #unknown > 0 then return err('unknown_seat', num_list(unknown)) end

-- Seats the owner already holds are simply kept (asking twice is not an error).
local fresh, blocked, lost = {}, {}, {}
local holders = redis.call('HMGET', HOLDS, unpack(ids))
for i, id in ipairs(ids) do
  if holders[i] ~= owner then fresh[#fresh + 1] = id end
end
if #fresh == 0 then
  return ok({seats = {}, deadline = tonumber(redis.call('ZSCORE', DEADLINES, owner)), version = version()})
end
if free_count() == 0 then return err('houseful') end
for i, id in ipairs(ids) do
  if holders[i] ~= owner then
    if info[id].blocked then
      blocked[#blocked + 1] = id
    elseif holders[i] or redis.call('SISMEMBER', SOLD, id) == 1 then
      lost[#lost + 1] = id
    end
  end
end
if #blocked > 0 then return err('seat_blocked', num_list(blocked)) end
if #lost > 0 then return err('seat_taken', num_list(lost)) end

local released = general_release(window_ms)
local asked = {}
for _, id in ipairs(ids) do asked[id] = true end
for _, id in ipairs(fresh) do
  local seat = info[id]
  if seat.kind == 'w' and not wheelchair and not released then
    return err('wheelchair_only', {tonumber(id)})
  end
  if seat.kind == 'c' and not released then
    local place = seat.comp
    if place == '0' or not (asked[place] or redis.call('HGET', HOLDS, place) == owner) then
      return err('companion_only', {tonumber(id)})
    end
  end
end
if owned_count(owner) + #fresh > max_seats then return err('limit_exceeded') end
local stranded = orphans(fresh, info)
if #stranded > 0 then return err('orphan_seat', num_list(stranded)) end
return ok(grant(owner, tag, fresh, ttl_ms, max_total_ms))
