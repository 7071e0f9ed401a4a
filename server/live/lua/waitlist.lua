-- The waiting list's handover (docs/holds.md, "Waiting list"), part of every script's prelude.
-- KEYS[11] waitq: the line, "-" first (so an empty line and a lost one differ), then one entry per
--   customer in the order they joined: "entry id|owner|tag|seats wanted|claim window ms".
-- KEYS[12] offers: what was handed to whom, JSON per offer, until the app records it in PostgreSQL.
-- Seats that come free (released, expired, unlocked, refunded) on a screening with people in line
-- go straight into the hold of the next in line, in order, in this same script: they are never
-- free in between, and never announced free. Each claimant is one change (a "held" event with
-- offer = true); seats nobody in line takes are returned to the caller to announce as before.
local WAITQ, OFFERS = KEYS[11], KEYS[12]

-- Hold seats for a claimant until NOW + claim window (the hold can be bought or extended as any).
local function offer_grant(owner, tag, ids, claim_ms)
  local rec = owner_get(owner)
  local seats = rec and rec.seats or {}
  for _, id in ipairs(ids) do
    redis.call('HSET', HOLDS, id, owner)
    seats[#seats + 1] = id
  end
  redis.call('ZADD', DEADLINES, NOW + claim_ms, owner)
  owner_put(owner, NOW, tag, seats)
  publish('held', ids, tag, {offer = true, ['until'] = NOW + claim_ms})
end

-- The line changed (someone joined or left): one "waitlist" event with its new length, so staff
-- dashboards refresh (seat maps see no seat change in it).
local function announce_line()
  return publish('waitlist', {}, '', {waiting = math.max(redis.call('LLEN', WAITQ) - 1, 0)})
end

hand_to_waitlist = function(ids)
  if not WAITQ or #ids == 0 or redis.call('LLEN', WAITQ) <= 1 or is_closed() then return ids end
  -- Wheelchair and companion places stay with the people who need them: never handed over.
  local eligible, left = {}, {}
  for _, id in ipairs(ids) do
    local seat = record(id)
    if seat and (seat.kind == 's' or seat.kind == 'v') then eligible[#eligible + 1] = id
    else left[#left + 1] = id end
  end
  table.sort(eligible, function(a, b) return tonumber(a) < tonumber(b) end)
  local i = 1
  while i <= #eligible and redis.call('LLEN', WAITQ) > 1 do
    local head = redis.call('LINDEX', WAITQ, 1)
    redis.call('LREM', WAITQ, 1, head)
    local entry, owner, tag, wanted, claim = string.match(head, '^(%d+)|([^|]+)|([^|]*)|(%d+)|(%d+)$')
    if entry then
      local give = {}
      while #give < tonumber(wanted) and i <= #eligible do
        give[#give + 1] = eligible[i]
        i = i + 1
      end
      offer_grant(owner, tag, give, tonumber(claim))
      redis.call('RPUSH', OFFERS, cjson.encode({entry = tonumber(entry), owner = owner, seats = num_list(give),
                                                deadline = NOW + tonumber(claim)}))
    end
  end
  local at = redis.call('HGET', META, 'expire_at')
  if at then redis.call('PEXPIRE', OFFERS, keep_ms(at)) end
  for j = i, #eligible do left[#left + 1] = eligible[j] end
  return left
end
