-- Refresh-token families live in PostgreSQL, so a Redis restart logs nobody out (docs/faults.md).
-- A login starts a family; each refresh rotates its token. Only a SHA-256 of the current token is
-- stored: a database dump does not hand out live sessions. A rotated-out token presented again
-- revokes the family (someone else holds a copy). Revoked and expired rows of a user are deleted
-- when that user next logs in.
CREATE TABLE refresh_session (
    family     text PRIMARY KEY CHECK (length(family) <= 64),
    user_id    bigint NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    token_hash text NOT NULL,
    revoked    boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);

CREATE INDEX refresh_session_user_idx ON refresh_session (user_id);
