-- waitlist_offers: the offers not yet recorded and whether the line is loaded (mode 'read'), or
-- forget one recorded offer (mode 'done', ARGV[2] the offer exactly as read). ARGV: mode[, offer].
if ARGV[1] == 'done' then return ok({removed = redis.call('LREM', OFFERS, 1, ARGV[2])}) end
return ok({offers = redis.call('LRANGE', OFFERS, 0, 99), loaded = redis.call('EXISTS', WAITQ) == 1})
