-- The load tool's invariant checks (loadtest/invariants.py). Each returns the rows that
-- break an invariant, so an empty result means the invariant holds.

-- name: seats_sold_twice
-- Invariant 1: a seat sold at most once (live tickets per screening and seat).
SELECT screening_id, seat_id, count(*) AS tickets, array_agg(order_id ORDER BY order_id) AS order_ids
FROM ticket
WHERE status = 'live' AND screening_id = any($1::bigint[])
GROUP BY screening_id, seat_id
HAVING count(*) > 1
ORDER BY screening_id, seat_id

-- name: live_seats
-- The truth the Redis sold cache must mirror.
SELECT screening_id, array_agg(DISTINCT seat_id) AS seat_ids
FROM ticket
WHERE status = 'live' AND screening_id = any($1::bigint[])
GROUP BY screening_id

-- name: paid_without_tickets
-- A paid order must have one live ticket per ordered seat.
SELECT o.order_key, o.screening_id, cardinality(o.seat_ids) AS seats,
       count(t.id) FILTER (WHERE t.status = 'live') AS live_tickets
FROM orders o
LEFT JOIN ticket t ON t.order_id = o.id
WHERE o.status = 'paid' AND o.screening_id = any($1::bigint[])
GROUP BY o.id
HAVING count(t.id) FILTER (WHERE t.status = 'live') <> cardinality(o.seat_ids)

-- name: failed_not_returned
-- Money and seats agree: an order that did not end paid keeps no authorisation and no live ticket.
SELECT o.order_key, o.screening_id, o.status, o.authorised, o.voided, o.refunded, o.captured,
       count(t.id) FILTER (WHERE t.status = 'live') AS live_tickets
FROM orders o
LEFT JOIN ticket t ON t.order_id = o.id
WHERE o.status IN ('failed', 'expired', 'cancelled', 'refunded') AND o.screening_id = any($1::bigint[])
GROUP BY o.id
HAVING (o.authorised AND NOT o.voided AND NOT o.refunded)
    OR (o.captured AND NOT o.refunded)
    OR count(t.id) FILTER (WHERE t.status = 'live') > 0

-- name: unsettled_orders
-- Orders still on their way (the checker waits for these before judging money and seats).
SELECT count(*)
FROM orders
WHERE screening_id = any($1::bigint[])
  AND (status IN ('pending', 'authorised') OR seats_pending OR (status = 'paid' AND NOT captured))
