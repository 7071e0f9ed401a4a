-- The sandbox payment provider's books (server/checkout/sandbox.py). The sandbox stands in for an
-- external provider, whose state never lives in the app's Redis: like a real bank's ledger its
-- payments, their counters and its outbox of webhook deliveries survive a Redis restart.

CREATE TABLE sandbox_payment (
    id             text PRIMARY KEY CHECK (id ~ '^sbx_[0-9a-f]{32}$'),
    reference      text NOT NULL,            -- the merchant's order key
    amount         integer NOT NULL CHECK (amount >= 0),
    currency       text NOT NULL,
    return_url     text NOT NULL,
    status         text NOT NULL DEFAULT 'created' CHECK (status IN
                     ('created', 'authorised', 'captured', 'voided', 'cancelled', 'refunded', 'declined',
                      'failed')),
    last4          text,
    webhook_url    text,
    authorisations integer NOT NULL DEFAULT 0,
    captures       integer NOT NULL DEFAULT 0,
    voids          integer NOT NULL DEFAULT 0,
    refunds        integer NOT NULL DEFAULT 0,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- Webhook deliveries still owed (deleted once acknowledged). due_at is when the next attempt may
-- start (pushed a lease ahead while one is in flight); NULL once dead-lettered.
CREATE TABLE sandbox_webhook (
    event_id   text PRIMARY KEY,
    payment_id text NOT NULL REFERENCES sandbox_payment (id) ON DELETE CASCADE,
    body       bytea NOT NULL,
    url        text NOT NULL,
    attempts   integer NOT NULL DEFAULT 0,
    due_at     timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sandbox_webhook_due_idx ON sandbox_webhook (due_at) WHERE due_at IS NOT NULL;
