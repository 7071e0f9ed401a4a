-- Checkout: orders, their state changes, tickets, check-in and the reconciler's work lists.
-- Every statement is prepared once per connection by asyncpg's statement cache.
-- Times written or compared come from the app's clock as a parameter (never now()), so reports
-- and the reconciler agree with the server's time, also in tests that run "at" another instant.

-- name: screening_for_order
SELECT id, status, starts_at, prices FROM screening WHERE id = $1

-- name: seats_priced
-- Each requested seat of the screening's auditorium with its kind's price (NULL: no price set).
SELECT s.id, s.kind, s.row_label, s.number, (sc.prices ->> s.kind)::integer AS price
FROM screening sc JOIN seat s ON s.auditorium_id = sc.auditorium_id
WHERE sc.id = $1 AND s.id = any($2::bigint[])
ORDER BY s.id

-- name: order_by_idempotency
SELECT * FROM orders WHERE user_id = $1 AND idempotency_key = $2

-- name: order_insert
-- $10: the app's clock (created_at, updated_at).
INSERT INTO orders (order_key, user_id, screening_id, amount, currency, seat_ids, prices,
                    idempotency_key, expires_at, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6::bigint[], $7::integer[], $8, $9, $10, $10)
ON CONFLICT (user_id, idempotency_key) DO NOTHING
RETURNING *

-- name: order_set_payment
-- Only the first session of a still-pending order is recorded (a racing second one is closed).
-- $4: the app's clock.
UPDATE orders SET payment_ref = $2, payment_url = $3, updated_at = $4
WHERE id = $1 AND payment_ref IS NULL AND status = 'pending'
RETURNING *

-- name: order_event_insert
INSERT INTO order_event (order_id, from_status, to_status, actor_id, reason, created_at)
VALUES ($1, $2, $3, $4, $5, $6)

-- name: order_extend
UPDATE orders SET expires_at = $2, updated_at = $3 WHERE id = $1 AND status = 'pending'

-- name: order_get
SELECT * FROM orders WHERE id = $1

-- name: order_lock
SELECT * FROM orders WHERE id = $1 FOR UPDATE

-- name: order_lock_by_key
SELECT * FROM orders WHERE order_key = $1 FOR UPDATE

-- name: order_by_payment_ref
SELECT * FROM orders WHERE payment_ref = $1

-- name: order_transition
UPDATE orders
SET status = $2, failure_reason = coalesce($3, failure_reason), seats_pending = $4, updated_at = $5
WHERE id = $1
RETURNING *

-- name: order_mark_authorised
UPDATE orders SET authorised = true, updated_at = $2 WHERE id = $1

-- name: order_mark_captured
UPDATE orders SET captured = true, updated_at = $2 WHERE id = $1

-- name: order_mark_voided
UPDATE orders SET voided = true, updated_at = $2 WHERE id = $1

-- name: order_mark_refunded
UPDATE orders SET captured = true, refunded = true, updated_at = $2 WHERE id = $1

-- name: order_seats_settled
-- Only for the status the Redis step was done for: a later change may owe a new step.
UPDATE orders SET seats_pending = false WHERE id = $1 AND status = $2 AND seats_pending RETURNING id

-- name: tickets_insert
INSERT INTO ticket (order_id, screening_id, seat_id, price, created_at)
SELECT $1, $2, seat, price, $5 FROM unnest($3::bigint[], $4::integer[]) AS t (seat, price)

-- name: order_seats_sold_elsewhere
-- The order's seats that another order holds live tickets for (named in its failure reason).
SELECT t.seat_id FROM orders o JOIN ticket t ON t.screening_id = o.screening_id AND t.seat_id = any(o.seat_ids)
WHERE o.id = $1 AND t.status = 'live' AND t.order_id <> o.id
ORDER BY t.seat_id

-- name: order_checked_in_count
-- Live tickets of an order already used at the door.
SELECT count(*) FROM ticket WHERE order_id = $1 AND status = 'live' AND checked_in_at IS NOT NULL

-- name: tickets_cancel
UPDATE ticket SET status = 'cancelled' WHERE order_id = $1 AND status = 'live' RETURNING seat_id

-- name: order_view
SELECT * FROM order_detail WHERE order_key = $1

-- name: orders_of_user
SELECT * FROM order_detail WHERE user_id = $1
ORDER BY created_at DESC
LIMIT $2

-- name: seats_of
SELECT id, row_label, number, kind FROM seat WHERE id = any($1::bigint[])

-- name: tickets_of_orders
SELECT t.id, t.order_id, t.seat_id, t.price, t.status, t.checked_in_at, s.row_label, s.number, s.kind
FROM ticket t JOIN seat s ON s.id = t.seat_id
WHERE t.order_id = any($1::bigint[])
ORDER BY t.order_id, s.row_label, s.number

-- name: ticket_owner
SELECT t.id, o.order_key, o.user_id FROM ticket t JOIN orders o ON o.id = t.order_id WHERE t.id = $1

-- name: ticket_check_in
-- Atomic: of two simultaneous scans exactly one sees a row. $3: the app's clock.
UPDATE ticket t SET checked_in_at = $3
FROM orders o, seat s
WHERE t.id = $1 AND o.id = t.order_id AND o.order_key = $2 AND s.id = t.seat_id
  AND t.status = 'live' AND t.checked_in_at IS NULL
RETURNING t.id, t.checked_in_at, t.screening_id, o.order_key, s.row_label, s.number, s.kind

-- name: ticket_for_check_in
SELECT t.id, t.status, t.checked_in_at, t.screening_id, o.order_key, s.row_label, s.number, s.kind
FROM ticket t JOIN orders o ON o.id = t.order_id JOIN seat s ON s.id = t.seat_id
WHERE t.id = $1 AND o.order_key = $2

-- name: orders_stuck_authorised
-- $1 grace seconds, $2 the most rows, $3 the app's clock.
SELECT id FROM orders
WHERE status = 'authorised' AND updated_at < $3::timestamptz - make_interval(secs => $1)
ORDER BY updated_at LIMIT $2

-- name: orders_pending_expired
-- Pending orders past their hold's deadline ($1: the app's clock, $2 the most rows). No grace:
-- see docs/checkout.md.
SELECT id FROM orders WHERE status = 'pending' AND expires_at < $1 ORDER BY expires_at LIMIT $2

-- name: orders_unsettled
-- $1 grace seconds, $2 the most rows, $3 the app's clock.
SELECT id FROM orders
WHERE (seats_pending
       OR (status = 'paid' AND NOT captured)
       OR (authorised AND status IN ('failed', 'expired', 'cancelled', 'refunded')
           AND NOT voided AND NOT refunded))
  AND updated_at < $3::timestamptz - make_interval(secs => $1)
ORDER BY updated_at LIMIT $2

-- name: screenings_recently_sold
-- $1 window seconds, $2 the most rows, $3 the app's clock.
SELECT DISTINCT o.screening_id FROM orders o JOIN screening sc ON sc.id = o.screening_id
WHERE o.status IN ('paid', 'cancelled', 'refunded') AND o.updated_at > $3::timestamptz - make_interval(secs => $1)
  AND sc.ends_at > $3
LIMIT $2

-- name: screening_live_seats
SELECT seat_id FROM ticket WHERE screening_id = $1 AND status = 'live'

-- name: orders_of_screening
SELECT id FROM orders WHERE screening_id = $1 AND status = any($2::text[]) ORDER BY id

-- name: order_check_in
-- A typed order key admits every live ticket of a paid order not yet checked in; atomic per ticket.
-- $2: the app's clock.
UPDATE ticket t SET checked_in_at = $2
FROM orders o, seat s
WHERE o.order_key = $1 AND o.status = 'paid' AND t.order_id = o.id AND s.id = t.seat_id
  AND t.status = 'live' AND t.checked_in_at IS NULL
RETURNING t.id, t.checked_in_at, t.screening_id, o.order_key, s.row_label, s.number, s.kind

-- name: order_tickets_for_check_in
SELECT t.id, t.status, t.checked_in_at, t.screening_id, o.order_key, s.row_label, s.number, s.kind
FROM ticket t JOIN orders o ON o.id = t.order_id JOIN seat s ON s.id = t.seat_id
WHERE o.order_key = $1 AND o.status = 'paid' AND t.status = 'live'
ORDER BY s.row_label, s.number
