-- Customers hear from us (docs/messages.md): the outbox of messages, each user's notification
-- settings and push subscriptions, password resets and the waiting list of houseful screenings.

-- What a user wants to hear. No row = the defaults: email on, push off, both reminders on
-- (remind_hours NULL = messages.hours_before from config.yaml; 0 = no "starts soon" reminder).
-- Receipts (confirmation, cancellation, refund) and password resets are always emailed.
CREATE TABLE notification_settings (
    user_id bigint PRIMARY KEY REFERENCES app_user (id) ON DELETE CASCADE,
    email boolean NOT NULL DEFAULT true,
    push boolean NOT NULL DEFAULT false,
    remind_day_before boolean NOT NULL DEFAULT true,
    remind_hours smallint CHECK (remind_hours BETWEEN 0 AND 12),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- A browser's push subscription (the endpoint is the push service's URL for that browser).
CREATE TABLE push_subscription (
    id bigserial PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    endpoint text NOT NULL UNIQUE CHECK (length(endpoint) <= 2048),
    p256dh text NOT NULL CHECK (length(p256dh) <= 200),
    auth text NOT NULL CHECK (length(auth) <= 100),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX push_subscription_user ON push_subscription (user_id);

-- The outbox: a row is written in the same transaction as the change that causes it, with the
-- job that sends it (procrastinate_defer_jobs_v1). One message per (kind, subject, channel),
-- so a retried change or a redelivered webhook can never make a second one.
CREATE TABLE message (
    id bigserial PRIMARY KEY,
    kind text NOT NULL CHECK (length(kind) <= 64),
    subject_key text NOT NULL CHECK (length(subject_key) <= 200),  -- what it is about: an order key...
    channel text NOT NULL CHECK (channel IN ('email', 'push')),
    user_id bigint REFERENCES app_user (id) ON DELETE SET NULL,
    recipient text,  -- the email address when it was written (email channel)
    payload jsonb NOT NULL DEFAULT '{}',
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed', 'skipped')),
    attempts integer NOT NULL DEFAULT 0,
    last_error text,
    created_at timestamptz NOT NULL,
    sent_at timestamptz,
    UNIQUE (kind, subject_key, channel)
);
CREATE INDEX message_user ON message (user_id, created_at DESC);

-- A password reset: the token is HMAC(server secret, id:nonce); only its SHA-256 is kept, so a
-- copy of the database hands out no reset links. Single use (used_at), short-lived (expires_at).
CREATE TABLE password_reset (
    id bigserial PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    nonce text NOT NULL,
    token_hash text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at timestamptz
);
CREATE INDEX password_reset_user ON password_reset (user_id) WHERE used_at IS NULL;

-- The waiting list of a houseful screening: a promise to customers, so it lives here (Redis
-- keeps a copy of the line for the handover script, rebuilt from these rows when lost).
CREATE TABLE waitlist_entry (
    id bigserial PRIMARY KEY,
    screening_id bigint NOT NULL REFERENCES screening (id) ON DELETE CASCADE,
    user_id bigint NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    seats smallint NOT NULL CHECK (seats BETWEEN 1 AND 100),
    status text NOT NULL DEFAULT 'waiting' CHECK (status IN ('waiting', 'offered', 'left')),
    joined_at timestamptz NOT NULL,
    offered_seats bigint[],
    offered_at timestamptz,
    offer_expires_at timestamptz,
    updated_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX waitlist_one_place ON waitlist_entry (screening_id, user_id) WHERE status = 'waiting';
CREATE INDEX waitlist_line ON waitlist_entry (screening_id, id) WHERE status = 'waiting';
