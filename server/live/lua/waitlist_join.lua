-- waitlist_join: put an entry in the line in entry-id order (the order PostgreSQL gave them).
-- ARGV: entry id, the entry's record. Answers missing when the line is not loaded (then the app
-- loads the whole line from PostgreSQL with waitlist_load, which includes this entry).
local id, record_ = tonumber(ARGV[1]), ARGV[2]
if is_cold() then return cjson.encode({cold = 1}) end
if redis.call('EXISTS', WAITQ) == 0 then return ok({missing = true}) end
local line = redis.call('LRANGE', WAITQ, 1, -1)
for _, item in ipairs(line) do
  local other = tonumber(string.match(item, '^(%d+)|'))
  if other == id then return ok({added = false}) end
  if other and other > id then
    redis.call('LINSERT', WAITQ, 'BEFORE', item, record_)
    return ok({added = true, version = announce_line()})
  end
end
redis.call('RPUSH', WAITQ, record_)
return ok({added = true, version = announce_line()})
