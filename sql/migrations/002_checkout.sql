-- Checkout: what the confirm/refund state machine needs beyond the base orders table.

ALTER TABLE orders
    -- Price of each seat at ordering time, aligned with seat_ids (tickets are priced from it).
    ADD COLUMN prices        integer[] NOT NULL DEFAULT '{}',
    -- Where the buyer pays (the provider's hosted page).
    ADD COLUMN payment_url   text,
    -- The provider holds the buyer's money for this order (set when the authorisation arrives).
    ADD COLUMN authorised    boolean NOT NULL DEFAULT false,
    -- The authorisation was released without capture.
    ADD COLUMN voided        boolean NOT NULL DEFAULT false,
    -- A Redis step (mark_sold / unlock / free_sold) is owed for the current status.
    ADD COLUMN seats_pending boolean NOT NULL DEFAULT false,
    ADD CHECK (cardinality(prices) IN (0, cardinality(seat_ids)));

-- Webhooks name the provider's payment reference.
CREATE UNIQUE INDEX orders_payment_ref_uq ON orders (payment_ref) WHERE payment_ref IS NOT NULL;

-- The reconciler's work list: orders whose money or seats still owe a step.
CREATE INDEX orders_unsettled_idx ON orders (updated_at)
    WHERE seats_pending
       OR (status = 'paid' AND NOT captured)
       OR (authorised AND status IN ('failed', 'expired', 'cancelled', 'refunded')
           AND NOT voided AND NOT refunded);
