-- The sandbox payment provider's books (server/checkout/sandbox.py; tables in
-- sql/migrations/005_sandbox_provider.sql). Every change of a payment is one compare-and-set.
-- Times come from the app's clock as a parameter (never now()), like the rest of the app's.

-- name: payment_create
INSERT INTO sandbox_payment (id, reference, amount, currency, return_url, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $6)

-- name: payment_get
SELECT * FROM sandbox_payment WHERE id = $1

-- name: payment_status
SELECT status FROM sandbox_payment WHERE id = $1

-- name: payment_move
-- Move the payment from $2[i] to $3[i] for the first pair matching its status, counting the move
-- in the counter named $4 ('' for none) at $5 (the clock). moved: the new status, NULL when nothing matched; status:
-- the status before (NULL: no such payment).
WITH moved AS (
    UPDATE sandbox_payment p
    SET status = m.to_status,
        captures = captures + ($4 = 'captures')::integer,
        voids = voids + ($4 = 'voids')::integer,
        refunds = refunds + ($4 = 'refunds')::integer,
        updated_at = $5
    FROM unnest($2::text[], $3::text[]) AS m (from_status, to_status)
    WHERE p.id = $1 AND p.status = m.from_status
    RETURNING p.status
)
SELECT (SELECT status FROM moved) AS moved, (SELECT status FROM sandbox_payment WHERE id = $1) AS status

-- name: payment_submit
-- The buyer submits a card: the outcome and its webhook, in one statement. queued: the event id
-- when the payment was still open; status: the payment's status before. $7: the webhook's delay
-- in seconds, $8: the clock.
WITH paid AS (
    UPDATE sandbox_payment
    SET status = $2, last4 = $3, webhook_url = $4, updated_at = $8,
        authorisations = authorisations + ($2 = 'authorised')::integer
    WHERE id = $1 AND status = 'created'
    RETURNING id
), queued AS (
    INSERT INTO sandbox_webhook (event_id, payment_id, body, url, due_at, created_at)
    SELECT $5, id, $6, $4, $8::timestamptz + make_interval(secs => $7), $8 FROM paid
    RETURNING event_id
)
SELECT (SELECT event_id FROM queued) AS queued, (SELECT status FROM sandbox_payment WHERE id = $1) AS status

-- name: webhooks_claim
-- Claim due deliveries by pushing their due time a lease ($1 seconds) ahead; any worker may
-- deliver, and one that dies mid-send leaves the delivery to another when the lease ends. $3: the clock.
UPDATE sandbox_webhook w SET due_at = $3::timestamptz + make_interval(secs => $1)
WHERE w.event_id IN (SELECT event_id FROM sandbox_webhook WHERE due_at <= $3
                     ORDER BY due_at LIMIT $2 FOR UPDATE SKIP LOCKED)
RETURNING w.event_id, w.body, w.url, w.attempts

-- name: webhook_next_due
-- Seconds until the next delivery is due at the clock's $1 (NULL: none queued).
SELECT extract(epoch FROM min(due_at) - $1::timestamptz)::float8 FROM sandbox_webhook WHERE due_at IS NOT NULL

-- name: webhook_delivered
DELETE FROM sandbox_webhook WHERE event_id = $1

-- name: webhook_retry
-- $4: the clock.
UPDATE sandbox_webhook SET attempts = $2, due_at = $4::timestamptz + make_interval(secs => $3) WHERE event_id = $1

-- name: webhook_dead
UPDATE sandbox_webhook SET attempts = $2, due_at = NULL WHERE event_id = $1

-- name: session_deadline
-- When the shop stops waiting for this payment (its order's hold runs out): a real provider is told
-- the session's expiry when the payment starts; the sandbox reads it from the order it stands for.
SELECT expires_at FROM orders WHERE order_key = $1 AND status = 'pending'
