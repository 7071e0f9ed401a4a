-- waitlist_load: build the line from PostgreSQL's waiting entries, only if it is missing (a fresh
-- screening, or Redis lost it). ARGV: records in line order...
if is_cold() then return cjson.encode({cold = 1}) end
if redis.call('EXISTS', WAITQ) == 1 then return ok({loaded = false}) end
redis.call('RPUSH', WAITQ, '-')
for i = 1, #ARGV, 1000 do
  redis.call('RPUSH', WAITQ, unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
local at = redis.call('HGET', META, 'expire_at')
if at then redis.call('PEXPIRE', WAITQ, keep_ms(at)) end
return ok({loaded = true})
