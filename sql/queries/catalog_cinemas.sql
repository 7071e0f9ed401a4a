-- Catalog: cinemas and auditoriums (the venue side).

-- name: cinema_insert
INSERT INTO cinema (name, city, address, latitude, longitude, rating, time_zone)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING id

-- name: cinema_get
SELECT id, name, city, address, latitude, longitude, rating, time_zone
FROM cinema
WHERE id = $1

-- name: cinema_lock
SELECT id, name, city, address, latitude, longitude, rating, time_zone
FROM cinema
WHERE id = $1
FOR UPDATE

-- name: cinema_update
UPDATE cinema
SET name = $2, city = $3, address = $4, latitude = $5, longitude = $6, rating = $7, time_zone = $8
WHERE id = $1

-- name: cinema_delete
DELETE FROM cinema WHERE id = $1

-- name: cinema_has_auditoriums
SELECT EXISTS (SELECT 1 FROM auditorium WHERE cinema_id = $1)

-- name: cinema_list
-- $1 city (or NULL), $2 limit, $3 offset.
SELECT id, name, city, address, latitude, longitude, rating, time_zone
FROM cinema
WHERE $1::text IS NULL OR lower(city) = lower($1)
ORDER BY city, name, id
LIMIT $2 OFFSET $3

-- name: cinema_nearest
-- Great-circle (haversine) distance from ($2 latitude, $3 longitude) on a 6371 km sphere;
-- least() keeps rounding error from pushing asin out of its domain.
SELECT id, name, city, address, latitude, longitude, rating, time_zone, round(km::numeric, 2) AS distance_km
FROM (
    SELECT c.*, 2 * 6371.0 * asin(least(1.0, sqrt(
        power(sin(radians(c.latitude - $2::float8) / 2), 2)
        + cos(radians($2::float8)) * cos(radians(c.latitude))
          * power(sin(radians(c.longitude - $3::float8) / 2), 2)))) AS km
    FROM cinema c
    WHERE $1::text IS NULL OR lower(c.city) = lower($1)
) AS located
ORDER BY km, id
LIMIT $4 OFFSET $5

-- name: cinema_auditoriums
SELECT a.id, a.name, a.category,
       count(s.id) AS seat_count,
       count(s.id) FILTER (WHERE NOT s.blocked) AS capacity
FROM auditorium a
LEFT JOIN seat s ON s.auditorium_id = a.id
WHERE a.cinema_id = $1
GROUP BY a.id
ORDER BY a.name, a.id

-- name: cinema_showings
-- Scheduled screenings at one cinema in [$2, $3) with their movie, for "what's on here".
SELECT m.id AS movie_id, m.title, m.director, m."cast", m.synopsis, m.runtime_minutes, m.certificate,
       m.score, m.release_date, m.poster_url,
       s.id, s.starts_at, s.ends_at, s.prices, s.auditorium_id, a.name AS auditorium_name
FROM screening s
JOIN auditorium a ON a.id = s.auditorium_id
JOIN movie m ON m.id = s.movie_id
WHERE a.cinema_id = $1 AND s.status = 'scheduled'
  AND s.starts_at >= $2 AND ($3::timestamptz IS NULL OR s.starts_at < $3)
ORDER BY s.starts_at, s.id
LIMIT 2000

-- name: auditorium_insert
INSERT INTO auditorium (cinema_id, name, category, best_x, best_y)
VALUES ($1, $2, $3, $4, $5)
RETURNING id

-- name: auditorium_get
SELECT a.id, a.cinema_id, c.name AS cinema_name, a.name, a.category, a.best_x, a.best_y,
       (SELECT count(*) FROM seat s WHERE s.auditorium_id = a.id) AS seat_count,
       (SELECT count(*) FROM seat s WHERE s.auditorium_id = a.id AND NOT s.blocked) AS capacity
FROM auditorium a
JOIN cinema c ON c.id = a.cinema_id
WHERE a.id = $1

-- name: auditorium_lock
SELECT id, cinema_id, name, category, best_x, best_y
FROM auditorium
WHERE id = $1
FOR UPDATE

-- name: auditorium_update
UPDATE auditorium
SET name = $2, category = $3, best_x = $4, best_y = $5
WHERE id = $1

-- name: auditorium_delete
DELETE FROM auditorium WHERE id = $1

-- name: auditorium_has_screenings
SELECT EXISTS (SELECT 1 FROM screening WHERE auditorium_id = $1)

-- name: auditorium_has_tickets
-- Any ticket row on its seats (live or not) pins the seat rows: they cannot be replaced.
SELECT EXISTS (
    SELECT 1 FROM ticket t JOIN screening s ON s.id = t.screening_id
    WHERE s.auditorium_id = $1
)

-- name: auditorium_scheduled_prices
SELECT id, prices FROM screening WHERE auditorium_id = $1 AND status = 'scheduled'

-- name: seat_map
SELECT id, row_label AS "row", number, x, y, kind, blocked, companion_of
FROM seat
WHERE auditorium_id = $1
ORDER BY y, x, id

-- name: seat_kinds
SELECT DISTINCT kind FROM seat WHERE auditorium_id = $1

-- name: seats_delete
DELETE FROM seat WHERE auditorium_id = $1

-- name: seats_insert
INSERT INTO seat (auditorium_id, row_label, number, x, y, kind, blocked)
SELECT $1, r, n, x, y, k, b
FROM unnest($2::text[], $3::int[], $4::float8[], $5::float8[], $6::text[], $7::bool[]) AS u(r, n, x, y, k, b)
RETURNING id, row_label, number

-- name: seats_link_companions
UPDATE seat s SET companion_of = c.wheelchair_id
FROM unnest($1::bigint[], $2::bigint[]) AS c(seat_id, wheelchair_id)
WHERE s.id = c.seat_id
