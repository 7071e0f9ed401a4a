-- sweep: expire overdue holds now (each expired owner is one "expired" event).
-- Atomic and idempotent: several workers sweeping at once expire each hold once.
if redis.call('EXISTS', META) == 0 then return ok({}) end
return ok(expire_overdue())
