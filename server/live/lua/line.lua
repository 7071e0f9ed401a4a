-- The waiting room's line of one screening (docs/waiting-room.md). One script, one hash tag:
-- every change to the line is atomic, and the line lives in Redis, not in a worker.
-- KEYS: conf, next, who, early, state, active, lease
-- ARGV: now (unix ms), op, then the op's arguments.
--   join   user window_ms seed        a place in line (the same one again for a second tab)
--   pass   user window_ms             the admission's expiry, once the user's number is admitted
--   admit  worker lease_ms seed busy  the admitter's tick (only the lease holder admits); busy = 1 while
--                                     a server's loop runs late: admissions slow to a tenth of the rate
--   state                             the line's figures, for the waiting sockets' frame
--   clear                             houseful: the line is emptied
local conf_key, next_key, who_key, early_key, state_key, active_key, lease_key =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local NOW, OP = tonumber(ARGV[1]), ARGV[2]

local function hnum(key, field)
  return tonumber(redis.call('HGET', key, field) or '0') or 0
end

local function active_count()
  redis.call('ZREMRANGEBYSCORE', active_key, '-inf', NOW)
  return redis.call('ZCARD', active_key)
end

-- At the opening, everyone who arrived before it gets a random place (once: `opened` is set).
local function open_if_due(seed)
  if hnum(state_key, 'opened') == 1 or NOW < hnum(conf_key, 'opens_at') then
    return
  end
  local early = redis.call('SMEMBERS', early_key)
  math.randomseed(tonumber(seed) or 1)
  for i = #early, 2, -1 do
    local j = math.random(i)
    early[i], early[j] = early[j], early[i]
  end
  for _, user in ipairs(early) do
    redis.call('HSET', who_key, user, redis.call('INCR', next_key))
  end
  redis.call('DEL', early_key)
  redis.call('HSET', state_key, 'opened', 1, 'at', NOW)
end

local function figures()
  return {admitted = hnum(state_key, 'admitted'), last = tonumber(redis.call('GET', next_key) or '0'),
          opened = hnum(state_key, 'opened') == 1, early = redis.call('SCARD', early_key),
          paused = hnum(conf_key, 'paused') == 1, rate = hnum(conf_key, 'rate'),
          opens_at = hnum(conf_key, 'opens_at'), active = active_count(), mode = redis.call('HGET', conf_key, 'mode')}
end

local function reply(t)
  return cjson.encode(t)
end

if redis.call('EXISTS', conf_key) == 0 then
  return reply({cold = true})
end
local mode = redis.call('HGET', conf_key, 'mode')

if OP == 'state' then
  return reply({ok = figures()})
end

if OP == 'clear' then
  redis.call('DEL', next_key, who_key, early_key, active_key)
  redis.call('HSET', state_key, 'admitted', 0, 'houseful', NOW)
  return reply({ok = figures()})
end

if OP == 'join' then
  if mode == 'off' then
    return reply({err = 'no_waiting_room'})
  end
  local user, window = ARGV[3], tonumber(ARGV[4])
  open_if_due(ARGV[5])
  local number = tonumber(redis.call('HGET', who_key, user))
  if number then
    -- A claimed admission lasts its whole window, a purchase or not (a buyer may come back for more).
    local claimed = tonumber(redis.call('HGET', state_key, 'u:' .. user))
    local spent = claimed and claimed <= NOW
    if not spent then
      return reply({ok = {number = number, line = figures()}})
    end
    -- This admission's window ended: a new place, at the end of the line.
    redis.call('HDEL', who_key, user)
    redis.call('HDEL', state_key, 'u:' .. user)
  elseif redis.call('SISMEMBER', early_key, user) == 1 then
    return reply({ok = {number = false, line = figures()}})
  end
  if hnum(state_key, 'opened') == 0 then
    redis.call('SADD', early_key, user)
    return reply({ok = {number = false, line = figures()}})
  end
  number = redis.call('INCR', next_key)
  redis.call('HSET', who_key, user, number)
  local admitted = hnum(state_key, 'admitted')
  if mode == 'auto' and hnum(conf_key, 'paused') == 0 and admitted == number - 1
      and active_count() < hnum(conf_key, 'max_active') then
    redis.call('HSET', state_key, 'admitted', number)  -- nobody waits and there is room: straight in
  end
  return reply({ok = {number = number, line = figures()}})
end

if OP == 'pass' then
  local user, window = ARGV[3], tonumber(ARGV[4])
  local number = tonumber(redis.call('HGET', who_key, user))
  if not number then
    return reply({err = 'not_in_line'})
  end
  if number > hnum(state_key, 'admitted') then
    return reply({err = 'still_waiting', number = number})
  end
  -- u:<user> is the window of a claimed admission; a sale takes the buyer out of line:active (the
  -- shopping places) but leaves the window: asking again returns the same expiry until it ends.
  local until_ms = tonumber(redis.call('HGET', state_key, 'u:' .. user))
  if until_ms and until_ms <= NOW then
    return reply({err = 'admission_spent'})
  end
  if not until_ms then
    until_ms = NOW + window
    redis.call('ZADD', active_key, until_ms, user)
    redis.call('HSET', state_key, 'u:' .. user, until_ms)
  end
  return reply({ok = {number = number, expires = until_ms}})
end

if OP == 'admit' then
  local worker, lease_ms, busy = ARGV[3], tonumber(ARGV[4]), ARGV[6] == '1'
  -- While busy the line moves at a tenth of its rate, but it moves: one that never does is worse.
  local function slowed(rate)
    return busy and math.max(math.floor(rate / 10), 1) or rate
  end
  -- The line's figures, with the rate it moves at now.
  local function told(leader)
    local out = figures()
    out.rate, out.busy = slowed(out.rate), busy
    return reply({ok = out, leader = leader})
  end
  local holder = redis.call('GET', lease_key)
  if holder and holder ~= worker then
    return told(false)
  end
  redis.call('SET', lease_key, worker, 'PX', lease_ms)
  open_if_due(ARGV[5])
  local at = hnum(state_key, 'at')
  if hnum(state_key, 'opened') == 0 or hnum(conf_key, 'paused') == 1 or at == 0 then
    redis.call('HSET', state_key, 'at', NOW, 'carry', 0)
    return told(true)
  end
  local rate = slowed(hnum(conf_key, 'rate'))
  -- At most one second's admissions saved up, so a long pause is no flood afterwards.
  local budget = math.min(hnum(state_key, 'carry') + rate * math.max(NOW - at, 0) / 1000, math.max(rate, 1))
  local admitted = hnum(state_key, 'admitted')
  local last = tonumber(redis.call('GET', next_key) or '0')
  local room = hnum(conf_key, 'max_active') - active_count()
  local n = math.max(math.min(math.floor(budget), last - admitted, room), 0)
  redis.call('HSET', state_key, 'admitted', admitted + n, 'at', NOW, 'carry', budget - math.floor(budget))
  return told(true)
end

return reply({err = 'unknown_op'})
