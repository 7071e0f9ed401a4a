-- reloaded: the screening's layout or sale rules were rewritten from PostgreSQL (an admin edited,
-- moved or cancelled it, or replaced the seat map). Holds on seats that no longer exist are
-- dropped; then one "reloaded" event tells every room to resync its sockets from a snapshot.
if is_cold() then return cjson.encode({cold = 1}) end
expire_overdue()
local gone = {}
for _, id in ipairs(redis.call('HKEYS', HOLDS)) do
  if redis.call('HEXISTS', LAYOUT, id) == 0 then
    owner_drop(redis.call('HGET', HOLDS, id), {id})
    redis.call('HDEL', HOLDS, id)
    redis.call('HDEL', SALES, id)
    gone[#gone + 1] = id
  end
end
return ok({version = publish('reloaded', gone, ''), dropped = num_list(gone)})
