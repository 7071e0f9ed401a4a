-- Catalog: screenings.

-- name: screening_insert
INSERT INTO screening (auditorium_id, movie_id, starts_at, ends_at, prices, orphan_rule)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING id

-- name: screening_lock
SELECT id, auditorium_id, movie_id, starts_at, ends_at, prices, status, orphan_rule
FROM screening
WHERE id = $1
FOR UPDATE

-- name: screening_update
UPDATE screening
SET auditorium_id = $2, movie_id = $3, starts_at = $4, ends_at = $5, prices = $6, orphan_rule = $7
WHERE id = $1

-- name: screening_cancel
UPDATE screening SET status = 'cancelled'
WHERE id = $1
RETURNING id, auditorium_id, movie_id, starts_at, ends_at, prices, status, orphan_rule

-- name: screening_delete
DELETE FROM screening WHERE id = $1

-- name: screening_live_tickets
SELECT count(*) FROM ticket WHERE screening_id = $1 AND status = 'live'

-- name: screening_has_orders
SELECT EXISTS (SELECT 1 FROM orders WHERE screening_id = $1)

-- name: movie_runtime
SELECT runtime_minutes FROM movie WHERE id = $1

-- name: auditorium_exists
SELECT EXISTS (SELECT 1 FROM auditorium WHERE id = $1)

-- name: auditorium_kinds
SELECT coalesce(array_agg(DISTINCT kind), '{}') FROM seat WHERE auditorium_id = $1

-- name: screening_get
SELECT s.id, s.starts_at, s.ends_at, s.prices, s.status, s.orphan_rule,
       json_build_object('id', m.id, 'title', m.title, 'runtime_minutes', m.runtime_minutes,
                         'certificate', m.certificate, 'poster_url', m.poster_url) AS movie,
       json_build_object('id', c.id, 'name', c.name, 'city', c.city, 'time_zone', c.time_zone) AS cinema,
       json_build_object('id', a.id, 'name', a.name, 'category', a.category) AS auditorium,
       (SELECT count(*) FROM seat st WHERE st.auditorium_id = a.id AND NOT st.blocked) AS capacity
FROM screening s
JOIN movie m ON m.id = s.movie_id
JOIN auditorium a ON a.id = s.auditorium_id
JOIN cinema c ON c.id = a.cinema_id
WHERE s.id = $1

-- name: screening_list
-- $1 cinema, $2 movie, $3 from, $4 to, $5 status (NULL = any), $6 limit, $7 offset,
-- $8 words in the film's title, the cinema's or the auditorium's name (NULL = all). total counts
-- every match, for paging.
SELECT s.id, s.starts_at, s.ends_at, s.prices, s.status,
       json_build_object('id', m.id, 'title', m.title, 'runtime_minutes', m.runtime_minutes,
                         'certificate', m.certificate, 'poster_url', m.poster_url) AS movie,
       json_build_object('id', c.id, 'name', c.name, 'city', c.city, 'time_zone', c.time_zone) AS cinema,
       json_build_object('id', a.id, 'name', a.name, 'category', a.category) AS auditorium,
       count(*) OVER () AS total
FROM screening s
JOIN movie m ON m.id = s.movie_id
JOIN auditorium a ON a.id = s.auditorium_id
JOIN cinema c ON c.id = a.cinema_id
WHERE ($1::bigint IS NULL OR a.cinema_id = $1)
  AND ($2::bigint IS NULL OR s.movie_id = $2)
  AND s.starts_at >= $3
  AND ($4::timestamptz IS NULL OR s.starts_at < $4)
  AND ($5::text IS NULL OR s.status = $5)
  AND ($8::text IS NULL OR strpos(lower(m.title || ' ' || c.name || ' ' || a.name), lower($8::text)) > 0)
ORDER BY s.starts_at, s.id
LIMIT $6 OFFSET $7

-- name: screening_exists
SELECT auditorium_id FROM screening WHERE id = $1

-- name: screening_booked
-- The booked map straight from PostgreSQL (the truth): live tickets and the seats they take.
SELECT coalesce(array_agg(t.seat_id ORDER BY t.seat_id), '{}') AS seat_ids,
       (SELECT count(*) FROM seat st JOIN screening s ON s.auditorium_id = st.auditorium_id
        WHERE s.id = $1 AND NOT st.blocked) AS capacity
FROM ticket t
WHERE t.screening_id = $1 AND t.status = 'live'
