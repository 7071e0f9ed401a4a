-- extend: push the owner's deadline to now + ttl, never beyond first hold + max total.
-- Extending changes no seat, so it bumps no version and publishes nothing.
-- ARGV: owner, ttl_ms, max_total_ms
local owner, ttl_ms, max_total_ms = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])

if is_cold() then return cjson.encode({cold = 1}) end
expire_overdue()
if is_closed() then return err('screening_closed') end
local rec = owner_get(owner)
local current = tonumber(redis.call('ZSCORE', DEADLINES, owner))
if not rec or not current then return err('not_held') end
local cap = rec.first + max_total_ms
if current >= cap then return err('extend_limit') end
local deadline = math.max(current, math.min(NOW + ttl_ms, cap))
redis.call('ZADD', DEADLINES, deadline, owner)
return ok({seats = num_list(rec.seats), deadline = deadline, version = version()})
