-- Shared prelude of every live-seat script (scripts.py puts it in front of each one).
-- KEYS (all of one screening, one hash tag):
--   1 meta (hash)       capacity, orphan_rule, status, starts_at, expire_at, prices, blocked,
--                       segments (how many)
--   2 layout (hash)     seat -> "seg:left:right:kind:blocked:companion_of:score" (+ field "-")
--   3 segs (hash)       segment -> "id,id,..." left to right
--   4 holds (hash)      seat -> owner
--   5 owners (hash)     owner -> "first_hold_ms|tag|seat,seat,..."
--   6 deadlines (zset)  owner -> expiry ms
--   7 sold (set)        sold seats, plus the member "-" so an empty set still exists
--   8 sales (hash)      seat -> the sale (order key) it is locked for (held, exempt from expiry)
--   9 version (string)  counter, bumped once per change
--  10 channel           the event channel (a key here so sharded pub/sub stays in the slot)
--  11 waitq (list)      the waiting list's line, "-" first (lua/waitlist.lua)
--  12 offers (list)     seats handed to the line, for the app to record (lua/waitlist.lua)
--  13 line:active (zset) the waiting room's shoppers, user id -> pass expiry (lua/line.lua)
-- ARGV[1] is always the caller's clock in unix ms (server/clock.py, passed by scripts.py); it is
-- taken off here, so each script's own arguments start at ARGV[1].
-- Results are JSON strings: {"ok":...} or {"err":"code","seats":[...]} or {"cold":1}.
local META, LAYOUT, SEGS, HOLDS, OWNERS, DEADLINES, SOLD, SALES, VERSION, CHANNEL =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10]

-- Business time comes from the app's clock, not Redis TIME: tests run "at" any instant, and
-- deadlines, the sale's close and the accessible-seat release all read the same clock. Workers
-- on several hosts rely on NTP; docs/holds.md says what a skew does.
local NOW = tonumber(table.remove(ARGV, 1))
local touched = false
-- Seats coming free go to the waiting list first; defined in lua/waitlist.lua (which follows this
-- prelude) and given the seats after they are free in Redis; returns the seats nobody in line took.
local hand_to_waitlist

local function err(code, seats)
  return cjson.encode({err = code, seats = seats or {}})
end

local function ok(value)
  return cjson.encode({ok = value})
end

local function is_cold()
  return redis.call('EXISTS', META, LAYOUT, SOLD) < 3
end

local function num_list(ids)
  local out = {}
  for i, id in ipairs(ids) do out[i] = tonumber(id) end
  return out
end

local function split(text, sep)
  local out = {}
  if not text or text == '' then return out end
  for part in string.gmatch(text, '[^' .. sep .. ']+') do out[#out + 1] = part end
  return out
end

local function parse_seat(rec)
  local seg, left, right, kind, blocked, comp, score =
    string.match(rec, '^(%d+):(%d+):(%d+):(%a):(%d):(%d+):(%d+)$')
  return {seg = seg, left = left, right = right, kind = kind, blocked = blocked == '1',
          comp = comp, score = tonumber(score)}
end

-- Layout records of some seats; returns (map seat -> info, list of unknown ids).
local function seats_info(ids)
  local info, unknown = {}, {}
  if #ids == 0 then return info, unknown end
  local recs = redis.call('HMGET', LAYOUT, unpack(ids))
  for i, id in ipairs(ids) do
    if recs[i] then info[id] = parse_seat(recs[i]) else unknown[#unknown + 1] = id end
  end
  return info, unknown
end

local function owner_get(owner)
  local rec = redis.call('HGET', OWNERS, owner)
  if not rec then return nil end
  local first, tag, seats = string.match(rec, '^(%d+)|([^|]*)|(.*)$')
  return {first = tonumber(first), tag = tag, seats = split(seats, ',')}
end

local function owner_put(owner, first, tag, seats)
  if #seats == 0 then
    redis.call('HDEL', OWNERS, owner)
    redis.call('ZREM', DEADLINES, owner)
  else
    redis.call('HSET', OWNERS, owner, string.format('%d|%s|%s', first, tag, table.concat(seats, ',')))
  end
end

-- Take some seats out of an owner's record (they were released, expired or sold).
local function owner_drop(owner, gone)
  local rec = owner_get(owner)
  if not rec then return end
  local drop, keep = {}, {}
  for _, s in ipairs(gone) do drop[s] = true end
  for _, s in ipairs(rec.seats) do if not drop[s] then keep[#keep + 1] = s end end
  owner_put(owner, rec.first, rec.tag, keep)
end

local function sold_count()
  return math.max(redis.call('SCARD', SOLD) - 1, 0)
end

local function free_count()
  local capacity = tonumber(redis.call('HGET', META, 'capacity') or '0')
  return math.max(capacity - sold_count() - redis.call('HLEN', HOLDS), 0)
end

local function version()
  return tonumber(redis.call('GET', VERSION) or '0')
end

-- Milliseconds until a screening's keys may go (expire_at is business time, Redis counts its
-- own time, so the key gets a relative TTL); at least a second, so a map being read survives.
local function keep_ms(at)
  return math.max(tonumber(at) - NOW, 1000)
end

-- Keys created by the scripts live as long as the layout: a day past the screening's end.
local function touch_ttl()
  if touched then return end
  touched = true
  local at = redis.call('HGET', META, 'expire_at')
  if at then
    local ttl = keep_ms(at)
    for i = 1, 9 do redis.call('PEXPIRE', KEYS[i], ttl) end
  end
end

-- One change: bump the version once and publish exactly one event (`extra` adds fields).
local function publish(kind, seats, tag, extra)
  local v = redis.call('INCR', VERSION)
  local event = {v = v, type = kind, by = tag or '', ts = NOW, houseful = free_count() == 0}
  -- cjson writes an empty table as {}, never []: an event about no seat (waitlist) has no "seats".
  if #seats > 0 then event.seats = num_list(seats) end
  for k, value in pairs(extra or {}) do event[k] = value end
  redis.call('SPUBLISH', CHANNEL, cjson.encode(event))
  touch_ttl()
  return v
end

-- Lazy expiry: every script first expires overdue holds, so correctness never waits for a sweeper.
-- Each owner's expiry is one change (one event carrying that owner's tag). Seats locked for a
-- sale are exempt.
local function expire_overdue()
  local expired = {}
  local due = redis.call('ZRANGEBYSCORE', DEADLINES, '-inf', NOW)
  for _, owner in ipairs(due) do
    redis.call('ZREM', DEADLINES, owner)
    local rec = owner_get(owner)
    if rec then
      local keep, gone = {}, {}
      for _, s in ipairs(rec.seats) do
        if redis.call('HEXISTS', SALES, s) == 1 then
          keep[#keep + 1] = s
        elseif redis.call('HGET', HOLDS, s) == owner then
          redis.call('HDEL', HOLDS, s)
          gone[#gone + 1] = s
        end
      end
      owner_put(owner, rec.first, rec.tag, keep)
      gone = hand_to_waitlist(gone)
      if #gone > 0 then
        publish('expired', gone, rec.tag)
        for _, s in ipairs(gone) do expired[#expired + 1] = tonumber(s) end
      end
    end
  end
  return expired
end

local function is_closed()
  local status, starts = unpack(redis.call('HMGET', META, 'status', 'starts_at'))
  return status ~= 'scheduled' or NOW >= tonumber(starts or '0')
end

-- Wheelchair and companion places go on general sale this close to the start.
local function general_release(window_ms)
  local starts = tonumber(redis.call('HGET', META, 'starts_at') or '0')
  return starts - NOW <= window_ms
end

-- Is a seat taken (for the orphan rule)? `extra` marks seats this request is about to take.
local function taken(id, info, extra)
  if extra[id] then return true end
  if info.blocked then return true end
  if redis.call('HEXISTS', HOLDS, id) == 1 then return true end
  return redis.call('SISMEMBER', SOLD, id) == 1
end

local function record(id)
  local rec = redis.call('HGET', LAYOUT, id)
  if rec then return parse_seat(rec) end
  return nil
end

-- Free seats left in a segment once `extra` is taken.
local function segment_free(seg, extra)
  local n = 0
  for _, id in ipairs(split(redis.call('HGET', SEGS, seg), ',')) do
    if not taken(id, record(id), extra) then n = n + 1 end
  end
  return n
end

-- ORPHAN RULE: a free standard/vip seat next to a seat being taken must not end up alone
-- (both sides taken or a segment end). Every such neighbour was next to a free seat before,
-- so any one found is newly isolated. Allowed when it is the last free seat of its segment.
-- Returns the list of would-be orphans (empty = fine).
local function orphans(ids, info)
  if redis.call('HGET', META, 'orphan_rule') ~= '1' then return {} end
  local extra = {}
  for _, id in ipairs(ids) do extra[id] = true end
  local found, seen = {}, {}
  for _, id in ipairs(ids) do
    local seat = info[id]
    for _, n in ipairs({seat.left, seat.right}) do
      if n ~= '0' and not seen[n] then
        seen[n] = true
        local near = record(n)
        if near and (near.kind == 's' or near.kind == 'v') and not taken(n, near, extra) then
          local lonely = (near.left == '0' or taken(near.left, record(near.left), extra))
            and (near.right == '0' or taken(near.right, record(near.right), extra))
          if lonely and segment_free(near.seg, extra) > 1 then found[#found + 1] = n end
        end
      end
    end
  end
  return found
end

-- Give seats (already checked) to an owner: deadline = now + ttl, capped at first hold + max total.
local function grant(owner, tag, ids, ttl_ms, max_total_ms)
  local rec = owner_get(owner)
  local seats, first = {}, NOW
  if rec then
    seats = rec.seats
    -- A new holding session starts when the owner has no expiring seats.
    if redis.call('ZSCORE', DEADLINES, owner) then first = rec.first end
  end
  for _, id in ipairs(ids) do
    redis.call('HSET', HOLDS, id, owner)
    seats[#seats + 1] = id
  end
  local deadline = math.min(NOW + ttl_ms, first + max_total_ms)
  redis.call('ZADD', DEADLINES, deadline, owner)
  owner_put(owner, first, tag, seats)
  -- `until`: when this hold ends unless extended (rooms refuse holds for it meanwhile: taken.py).
  local v = publish('held', ids, tag, {['until'] = deadline})
  return {seats = num_list(ids), deadline = deadline, version = v}
end

-- Checks shared by hold and hold_best: closed screening, limit, houseful.
local function owned_count(owner)
  local rec = owner_get(owner)
  if rec then return #rec.seats end
  return 0
end

-- ARGV[first], ARGV[first + 1], ...: the seat ids a script was given after its fixed arguments.
local function argv_from(first)
  local ids = {}
  for i = first, #ARGV do ids[#ids + 1] = ARGV[i] end
  return ids
end

-- The shared start of the sale steps (lock_for_sale, mark_sold, unlock, free_sold): the seat
-- ids from ARGV[first] on, overdue holds expired, every id checked against the layout.
-- Returns ids and their info, or nil and the reply to return at once (cold or unknown_seat).
local function sale_step(first)
  if is_cold() then return nil, cjson.encode({cold = 1}) end
  expire_overdue()
  local ids = argv_from(first)
  local info, unknown = seats_info(ids)
  if #unknown > 0 then return nil, err('unknown_seat', num_list(unknown)) end
  return ids, info
end
