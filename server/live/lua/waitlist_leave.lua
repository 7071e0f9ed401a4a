-- waitlist_leave: take an entry out of the line (it may already have been handed seats).
-- ARGV: entry id.
local prefix = ARGV[1] .. '|'
for _, item in ipairs(redis.call('LRANGE', WAITQ, 1, -1)) do
  if string.sub(item, 1, #prefix) == prefix then
    redis.call('LREM', WAITQ, 1, item)
    return ok({removed = true, version = announce_line()})
  end
end
return ok({removed = false})
