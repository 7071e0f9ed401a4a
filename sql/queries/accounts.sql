-- Accounts: users, roles and the first admin. Loaded by server/domain/accounts.py.

-- name: user_insert
INSERT INTO app_user (email, name, phone, password_hash)
VALUES ($1, $2, $3, $4)
RETURNING id, email, name, phone, role, created_at;

-- name: user_get
SELECT id, email, name, phone, role, created_at
FROM app_user
WHERE id = $1;

-- name: user_get_for_update
SELECT id, email, name, phone, role, created_at, password_hash
FROM app_user
WHERE id = $1
FOR UPDATE;

-- name: user_password_hash
SELECT password_hash FROM app_user WHERE id = $1;

-- name: user_by_email
SELECT id, email, name, phone, role, created_at, password_hash
FROM app_user
WHERE email = $1;

-- name: user_list
-- $1: ILIKE pattern or NULL, $2: role or NULL, $3: limit, $4: offset.
SELECT id, email, name, phone, role, created_at
FROM app_user
WHERE ($1::text IS NULL OR email ILIKE $1 OR name ILIKE $1)
  AND ($2::text IS NULL OR role = $2)
ORDER BY id
LIMIT $3 OFFSET $4;

-- name: user_count
SELECT count(*)
FROM app_user
WHERE ($1::text IS NULL OR email ILIKE $1 OR name ILIKE $1)
  AND ($2::text IS NULL OR role = $2);

-- name: user_set_role
UPDATE app_user SET role = $2
WHERE id = $1
RETURNING id, email, name, phone, role, created_at;

-- name: user_set_password
UPDATE app_user SET password_hash = $2
WHERE id = $1;

-- name: user_set_profile
-- $2/$3 are applied only when $4/$5 say the field was given (phone may become NULL).
UPDATE app_user
SET name = CASE WHEN $4::boolean THEN $2 ELSE name END,
    phone = CASE WHEN $5::boolean THEN $3 ELSE phone END
WHERE id = $1
RETURNING id, email, name, phone, role, created_at;

-- name: admins_lock
-- Serialises the "last admin" check against concurrent role changes.
SELECT id FROM app_user WHERE role = 'admin' ORDER BY id FOR UPDATE;

-- name: admin_exists
SELECT EXISTS (SELECT 1 FROM app_user WHERE role = 'admin');

-- name: admin_upsert
-- Creates the admin, or promotes the existing user and resets the password.
INSERT INTO app_user (email, name, password_hash, role)
VALUES ($1, $2, $3, 'admin')
ON CONFLICT (email) DO UPDATE SET role = 'admin', password_hash = EXCLUDED.password_hash
RETURNING id, (xmax = 0) AS created;

-- name: bootstrap_lock
-- Transaction-scoped advisory lock: one process at a time decides about the first admin.
SELECT pg_advisory_xact_lock(7201944114);

-- name: reset_insert
-- A password reset ($1 user, $2 nonce, $3 token hash, $4 the app's clock, $5 expiry).
INSERT INTO password_reset (user_id, nonce, token_hash, created_at, expires_at)
VALUES ($1, $2, $3, $4, $5)
RETURNING id;

-- name: reset_close_others
-- A newer link (or a completed reset) ends every other open link of the user ($2 the app's clock).
UPDATE password_reset SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL;

-- name: reset_use
-- Single use: of two submissions of one link, exactly one gets the row ($2 the app's clock).
UPDATE password_reset SET used_at = $2
WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
RETURNING id, user_id;

-- name: session_insert
-- A new refresh-token family ($3 the token's hash, $4 the app's clock, $5 expiry).
INSERT INTO refresh_session (family, user_id, token_hash, created_at, expires_at)
VALUES ($1, $2, $3, $4, $5);

-- name: session_prune
-- A user's revoked and expired families ($2 the app's clock).
DELETE FROM refresh_session WHERE user_id = $1 AND (revoked OR expires_at <= $2);

-- name: session_rotate
-- Compare-and-rotate: only the current, live token of the family is replaced ($2 its hash, $3 the
-- new hash, $4 the app's clock, $5 the new expiry). Of two refreshes with one token, the second
-- waits for the first's row lock, then finds the hash changed and gets no row.
UPDATE refresh_session SET token_hash = $3, expires_at = $5
WHERE family = $1 AND token_hash = $2 AND NOT revoked AND expires_at > $4
RETURNING user_id;

-- name: session_revoke_family
-- Logout, or a rotated-out token came back: the family ends. Returns its owner if it was live.
UPDATE refresh_session SET revoked = true
WHERE family = $1 AND NOT revoked
RETURNING user_id;

-- name: session_revoke_user
-- A password change or reset ends every family of the user.
UPDATE refresh_session SET revoked = true WHERE user_id = $1 AND NOT revoked;
