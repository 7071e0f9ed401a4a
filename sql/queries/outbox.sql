-- The outbox (docs/messages.md): messages written in the transaction of the change that causes
-- them, each with the job that sends it, deferred in the same transaction.

-- name: message_enqueue
-- One message per channel the user gets for this kind, and its send job, in the caller's
-- transaction. $1 kind, $2 subject key, $3 user id, $4 payload, $5 the app's clock, $6 true for
-- receipts and account mail (emailed whatever the settings say), $7 job priority (higher first).
-- A (kind, subject, channel) that exists already is skipped: duplicates are impossible.
-- procrastinate_defer_jobs_v1 is the job queue's own insert (sql/migrations/007_job_queue.sql);
-- its NOTIFY wakes a worker when this transaction commits.
WITH wanted AS (
    SELECT ch.channel, u.email
      FROM app_user u
      LEFT JOIN notification_settings n ON n.user_id = u.id
     CROSS JOIN (VALUES ('email'), ('push')) AS ch (channel)
     WHERE u.id = $3
       AND CASE ch.channel
             WHEN 'email' THEN $6::boolean OR coalesce(n.email, true)
             ELSE coalesce(n.push, false) AND EXISTS (SELECT 1 FROM push_subscription p WHERE p.user_id = u.id)
           END
), inserted AS (
    INSERT INTO message (kind, subject_key, channel, user_id, recipient, payload, created_at)
    SELECT $1, $2, w.channel, $3, CASE WHEN w.channel = 'email' THEN w.email END, $4::jsonb, $5 FROM wanted w
    ON CONFLICT (kind, subject_key, channel) DO NOTHING
    RETURNING id
)
SELECT coalesce(array_agg(id ORDER BY id), '{}') AS ids,
       procrastinate_defer_jobs_v1(array_agg(
           ROW('messages', 'send_message', $7::integer, 'message:' || id, 'message:' || id,
               jsonb_build_object('message_id', id), NULL)::procrastinate_job_to_defer_v1)) AS jobs
  FROM inserted

-- name: message_get
SELECT * FROM message WHERE id = $1

-- name: message_lock
-- Held while the message is sent: two workers can never send it at once, and a worker that dies
-- mid-send loses the lock with its connection.
SELECT * FROM message WHERE id = $1 FOR UPDATE

-- name: message_done
-- $2 status (sent, skipped or failed), $3 the app's clock, $4 the error of a failed attempt.
UPDATE message SET status = $2, attempts = attempts + 1, sent_at = CASE WHEN $2 = 'sent' THEN $3::timestamptz END,
                   last_error = $4
 WHERE id = $1

-- name: message_attempt_failed
UPDATE message SET attempts = attempts + 1, last_error = $2 WHERE id = $1 AND status = 'pending'

-- name: messages_of_user
SELECT id, kind, subject_key, channel, status, created_at, sent_at FROM message
 WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2
