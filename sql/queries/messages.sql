-- What messages say (server/messaging/content.py) and who gets pushes: read when a message is sent.

-- name: screening_for_message
-- A screening as a message names it ($1 screening id).
SELECT s.id AS screening_id, s.starts_at, s.ends_at, s.status AS screening_status, m.title AS movie_title,
       m.certificate, a.name AS auditorium, c.name AS cinema, c.city, c.address, c.time_zone
  FROM screening s
  JOIN movie m ON m.id = s.movie_id
  JOIN auditorium a ON a.id = s.auditorium_id
  JOIN cinema c ON c.id = a.cinema_id
 WHERE s.id = $1

-- name: order_for_message
-- An order with its buyer ($1 order key).
SELECT o.id, o.order_key, o.user_id, o.status, o.amount, o.currency, o.screening_id, u.name AS user_name
  FROM orders o JOIN app_user u ON u.id = o.user_id
 WHERE o.order_key = $1

-- name: tickets_for_message
-- An order's tickets with their seats, in seat order ($1 order id); live ones only unless $2.
SELECT t.id, t.price, t.status, s.row_label, s.number, s.kind
  FROM ticket t JOIN seat s ON s.id = t.seat_id
 WHERE t.order_id = $1 AND (t.status = 'live' OR $2::boolean)
 ORDER BY s.row_label, s.number

-- name: seats_for_message
SELECT id, row_label, number, kind FROM seat WHERE id = any($1::bigint[]) ORDER BY row_label, number

-- name: user_for_message
SELECT id, name, email FROM app_user WHERE id = $1

-- name: reset_for_message
SELECT r.id, r.nonce, r.expires_at, r.used_at, u.name AS user_name
  FROM password_reset r JOIN app_user u ON u.id = r.user_id
 WHERE r.id = $1

-- name: waitlist_for_message
SELECT w.id, w.screening_id, w.seats, w.offered_seats, w.offer_expires_at, u.name AS user_name
  FROM waitlist_entry w JOIN app_user u ON u.id = w.user_id
 WHERE w.id = $1

-- name: push_subscriptions_of
SELECT id, endpoint, p256dh, auth FROM push_subscription WHERE user_id = $1 ORDER BY id

-- name: push_subscription_gone
-- The push service says this browser unsubscribed (404/410): forget it.
DELETE FROM push_subscription WHERE id = $1

-- name: reminders_due
-- Reminders owed at $1 (the app's clock) for paid orders of scheduled screenings: the day before at
-- $2 o'clock on the cinema's clock (until the show's own day begins there), and the user's hours
-- (default $3; 0 = none) before the start (until it starts). An order paid after a reminder was
-- due gets none (its confirmation just told them), and one reminder of each kind per order: rows
-- already in the outbox are left out (the outbox's unique key would refuse them anyway).
WITH paid AS (
    SELECT o.order_key, o.user_id, s.starts_at, c.time_zone,
           coalesce(n.remind_day_before, true) AS day_before,
           coalesce(n.remind_hours, $3::integer) AS hours,
           (SELECT min(e.created_at) FROM order_event e WHERE e.order_id = o.id AND e.to_status = 'paid') AS paid_at
      FROM screening s
      JOIN orders o ON o.screening_id = s.id
      JOIN auditorium a ON a.id = s.auditorium_id
      JOIN cinema c ON c.id = a.cinema_id
      LEFT JOIN notification_settings n ON n.user_id = o.user_id
     WHERE s.starts_at > $1 AND s.starts_at <= $1::timestamptz + interval '2 days'
       AND s.status = 'scheduled' AND o.status = 'paid'
), due AS (
    SELECT 'reminder_day_before' AS kind, order_key, user_id, hours, paid_at,
           ((starts_at AT TIME ZONE time_zone)::date - 1 + make_time($2::integer, 0, 0)) AT TIME ZONE time_zone
               AS due_at,
           ((starts_at AT TIME ZONE time_zone)::date)::timestamp AT TIME ZONE time_zone AS until_at
      FROM paid WHERE day_before
    UNION ALL
    SELECT 'reminder_soon', order_key, user_id, hours, paid_at, starts_at - make_interval(hours => hours), starts_at
      FROM paid WHERE hours > 0
)
SELECT kind, order_key, user_id, hours FROM due
 WHERE due_at <= $1 AND $1 < until_at AND paid_at < due_at
   AND NOT EXISTS (SELECT 1 FROM message m WHERE m.kind = due.kind AND m.subject_key = due.order_key)
 ORDER BY due_at
 LIMIT 1000

-- name: settings_get
SELECT email, push, remind_day_before, remind_hours FROM notification_settings WHERE user_id = $1

-- name: settings_put
INSERT INTO notification_settings (user_id, email, push, remind_day_before, remind_hours, updated_at)
VALUES ($1, $2, $3, $4, $5, now())
ON CONFLICT (user_id) DO UPDATE
SET email = EXCLUDED.email, push = EXCLUDED.push, remind_day_before = EXCLUDED.remind_day_before,
    remind_hours = EXCLUDED.remind_hours, updated_at = now()
RETURNING email, push, remind_day_before, remind_hours

-- name: push_subscribe
-- A browser's subscription now belongs to this user (a shared browser changes hands on login).
INSERT INTO push_subscription (user_id, endpoint, p256dh, auth) VALUES ($1, $2, $3, $4)
ON CONFLICT (endpoint) DO UPDATE SET user_id = EXCLUDED.user_id, p256dh = EXCLUDED.p256dh, auth = EXCLUDED.auth
RETURNING id

-- name: push_unsubscribe
DELETE FROM push_subscription WHERE user_id = $1 AND endpoint = $2

-- name: push_count
SELECT count(*) FROM push_subscription WHERE user_id = $1

-- name: report_for_message
-- A stored monthly report ($1) and the name of the user ($2) it is emailed to.
SELECT r.id, r.title, r.month, r.pdf, r.figures, u.name AS user_name
  FROM report_archive r JOIN app_user u ON u.id = $2
 WHERE r.id = $1 AND r.pdf IS NOT NULL
