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

-- name: stuck_orders
-- Orders left unfinished: pending more than $2 seconds past their hold's deadline, or authorised /
-- owing a money or seat step and unchanged for $2 seconds (the reconciler should have finished them).
-- $3: the checker's clock (order times are the app's clock's, never PostgreSQL's now()).
SELECT order_key, screening_id, status, authorised, captured, voided, refunded, seats_pending,
       expires_at, updated_at
FROM orders
WHERE screening_id = any($1::bigint[])
  AND ((status = 'pending' AND expires_at < $3::timestamptz - make_interval(secs => $2))
    OR ((status = 'authorised' OR seats_pending OR (status = 'paid' AND NOT captured)
         OR (authorised AND status IN ('failed', 'expired', 'cancelled', 'refunded')
             AND NOT voided AND NOT refunded))
        AND updated_at < $3::timestamptz - make_interval(secs => $2)))
ORDER BY updated_at

-- name: sandbox_present
-- The sandbox provider's books exist (a deployment with a real provider has none to compare).
SELECT to_regclass('sandbox_payment') IS NOT NULL

-- name: provider_disagrees
-- Money as the provider sees it agrees with each finished order: paid = captured once; failed or
-- expired = nothing authorised or captured; cancelled/refunded = refunded (or voided, if undone
-- before the capture). Sessions never recorded on an order (a double click's spare) hold no money.
SELECT o.order_key, o.screening_id, o.status, p.id AS payment_id, p.status AS payment_status,
       p.captures, p.voids, p.refunds
FROM orders o JOIN sandbox_payment p ON p.reference = o.order_key
WHERE o.screening_id = any($1::bigint[])
  AND CASE
        WHEN p.id IS DISTINCT FROM o.payment_ref THEN p.status IN ('authorised', 'captured')
        WHEN o.status = 'paid' THEN NOT (p.status = 'captured' AND p.captures = 1)
        WHEN o.status IN ('failed', 'expired') THEN p.status IN ('authorised', 'captured', 'refunded')
        WHEN o.status IN ('cancelled', 'refunded') THEN p.status NOT IN ('refunded', 'voided')
        ELSE false
      END
ORDER BY o.id
