-- The monthly report (server/domain/monthly.py) and its archive (server/messaging/monthly_reports.py).
-- Months are local months at each screening's cinema; money is integer minor units.

-- name: month_screenings
-- Every screening shown on local days $1..$2 (a month) of cinema $3 or all, with its sales
-- (screening_sales, migration 006), its local weekday (1 = Monday) and hour, its live tickets
-- checked in, and how many of them had been sold 7 days and 1 day before the show.
SELECT r.screening_id, r.starts_at, r.day, r.status, r.movie_id, r.movie, r.cinema_id, r.cinema, r.time_zone,
       r.auditorium, r.capacity, r.sold, r.takings, r.refunds, r.refund_amount,
       extract(isodow FROM r.starts_at AT TIME ZONE r.time_zone)::int AS weekday,
       extract(hour FROM r.starts_at AT TIME ZONE r.time_zone)::int AS hour,
       k.checked_in, k.sold_by_7d, k.sold_by_1d
  FROM screening_sales($1, $2, $3::bigint) r
 CROSS JOIN LATERAL (
       SELECT count(t.checked_in_at)::bigint AS checked_in,
              count(*) FILTER (WHERE t.created_at <= r.starts_at - interval '7 days')::bigint AS sold_by_7d,
              count(*) FILTER (WHERE t.created_at <= r.starts_at - interval '1 day')::bigint AS sold_by_1d
         FROM ticket t WHERE t.screening_id = r.screening_id AND t.status = 'live') k
 ORDER BY r.starts_at, r.screening_id;

-- name: report_cinemas
-- Every cinema with its zone (the monthly job makes one report per cinema).
SELECT id, name, city, time_zone FROM cinema ORDER BY name, id;

-- name: report_cinema
SELECT id, name, city, time_zone FROM cinema WHERE id = $1;

-- name: archive_claim
-- Claim the report of cinema $1 (NULL: the chain) for month $2, titled $3, at $4: a row, or none
-- when another worker (or an earlier run) has it already.
INSERT INTO report_archive (cinema_id, month, title, created_at)
VALUES ($1, $2, $3, $4)
ON CONFLICT ((coalesce(cinema_id, 0)), month) DO NOTHING
RETURNING id;

-- name: archive_store
-- The claimed report $1 rendered: its HTML, PDF and figures, finished at $5.
UPDATE report_archive SET html = $2, pdf = $3, figures = $4, finished_at = $5 WHERE id = $1;

-- name: archive_emailed
UPDATE report_archive SET emailed_to = $2 WHERE id = $1;

-- name: archive_list
-- Stored reports, newest month first ($1 rows at most).
SELECT r.id, r.cinema_id, c.name AS cinema, r.month, r.title, r.emailed_to, r.created_at, r.finished_at,
       r.pdf IS NOT NULL AS has_pdf
  FROM report_archive r LEFT JOIN cinema c ON c.id = r.cinema_id
 ORDER BY r.month DESC, c.name NULLS FIRST, r.id
 LIMIT $1;

-- name: archive_get
SELECT id, cinema_id, month, title, html, pdf, finished_at FROM report_archive WHERE id = $1;

-- name: report_recipients
-- Who receives the report of cinema $1 (NULL: the chain): every admin, and that cinema's managers.
SELECT DISTINCT u.id, u.email::text AS email, u.name
  FROM app_user u
 WHERE u.role = 'admin'
    OR ($1::bigint IS NOT NULL AND u.role IN ('staff', 'admin')
        AND EXISTS (SELECT 1 FROM cinema_manager m WHERE m.user_id = u.id AND m.cinema_id = $1::bigint))
 ORDER BY u.id;

-- name: managers_of
-- The staff who manage cinema $1.
SELECT u.id, u.email::text AS email, u.name, u.role
  FROM cinema_manager m JOIN app_user u ON u.id = m.user_id
 WHERE m.cinema_id = $1
 ORDER BY u.name, u.id;

-- name: manager_add
-- Make staff user $2 a manager of cinema $1: 'added', 'exists', 'no_cinema' or 'not_staff'.
WITH c AS (SELECT id FROM cinema WHERE id = $1),
     u AS (SELECT id FROM app_user WHERE id = $2 AND role IN ('staff', 'admin')),
     ins AS (INSERT INTO cinema_manager (cinema_id, user_id) SELECT c.id, u.id FROM c, u
             ON CONFLICT DO NOTHING RETURNING 1)
SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM c) THEN 'no_cinema'
            WHEN NOT EXISTS (SELECT 1 FROM u) THEN 'not_staff'
            WHEN EXISTS (SELECT 1 FROM ins) THEN 'added' ELSE 'exists' END;

-- name: manager_remove
DELETE FROM cinema_manager WHERE cinema_id = $1 AND user_id = $2 RETURNING 1;
