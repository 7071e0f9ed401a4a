-- hold_best: the owner gets `count` adjacent free seats of one kind in one segment, the run
-- nearest the auditorium's best spot (smallest summed distance), never stranding an orphan.
-- ARGV: owner, tag, ttl_ms, max_total_ms, max_seats, release_window_ms, count, kind code (s|v|w|c)
local owner, tag = ARGV[1], ARGV[2]
local ttl_ms, max_total_ms, max_seats = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local window_ms, count, kind = tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8]

if is_cold() then return cjson.encode({cold = 1}) end
expire_overdue()
if is_closed() then return err('screening_closed') end
if free_count() == 0 then return err('houseful') end
if owned_count(owner) + count > max_seats then return err('limit_exceeded') end
-- Asking for wheelchair places is the request for them; companions come with their place only.
if kind == 'c' and not general_release(window_ms) then return err('companion_only') end

local all = redis.call('HGETALL', LAYOUT)
local info = {}
for i = 1, #all, 2 do
  if all[i] ~= '-' then info[all[i]] = parse_seat(all[i + 1]) end
end
local busy = {}
for _, id in ipairs(redis.call('HKEYS', HOLDS)) do busy[id] = true end
for _, id in ipairs(redis.call('SMEMBERS', SOLD)) do busy[id] = true end

local best, best_score = nil, nil
-- Segments in order (front row first, left to right), so ties go to the first run found.
for index = 1, tonumber(redis.call('HGET', META, 'segments') or '0') do
  local seg = split(redis.call('HGET', SEGS, tostring(index)), ',')
  local run, sum = 0, 0
  for pos, id in ipairs(seg) do
    local seat = info[id]
    if seat.kind == kind and not seat.blocked and not busy[id] then
      run = run + 1
      sum = sum + seat.score
      if run > count then
        run = count
        sum = sum - info[seg[pos - count]].score
      end
      if run == count and (best_score == nil or sum < best_score) then
        local window = {}
        for k = pos - count + 1, pos do window[#window + 1] = seg[k] end
        if #orphans(window, info) == 0 then best, best_score = window, sum end
      end
    else
      run, sum = 0, 0
    end
  end
end
if not best then return err('no_adjacent_seats') end
return ok(grant(owner, tag, best, ttl_ms, max_total_ms))
