-- The sell-out forecast (server/domain/forecasts.py): past screenings' sales curves, upcoming
-- screenings' sales so far, the fitted model.

-- name: forecast_curves
-- Scheduled screenings with seats that started in $1..$2: their film, screen, local weekday
-- (1 = Monday) and hour, capacity, and live tickets bought by each lead time in $3 (days before).
SELECT s.id AS screening_id, s.movie_id, s.auditorium_id,
       extract(isodow FROM s.starts_at AT TIME ZONE c.time_zone)::int AS weekday,
       extract(hour FROM s.starts_at AT TIME ZONE c.time_zone)::int AS hour,
       cap.n AS capacity,
       ARRAY(SELECT (SELECT count(*) FROM ticket t
                      WHERE t.screening_id = s.id AND t.status = 'live'
                        AND t.created_at <= s.starts_at - u.lead * interval '1 day')::int
               FROM unnest($3::float8[]) WITH ORDINALITY AS u (lead, i) ORDER BY u.i) AS sold_at
  FROM screening s
  JOIN auditorium a ON a.id = s.auditorium_id
  JOIN cinema c ON c.id = a.cinema_id
 CROSS JOIN LATERAL (SELECT count(*)::int AS n FROM seat WHERE seat.auditorium_id = s.auditorium_id AND NOT blocked) cap
 WHERE s.status = 'scheduled' AND s.starts_at >= $1 AND s.starts_at < $2 AND cap.n > 0
 ORDER BY s.starts_at, s.id;

-- name: forecast_upcoming
-- Scheduled screenings starting after $1 and within $2 days, of cinema $3 or all, with their live
-- tickets so far.
SELECT s.id AS screening_id, s.starts_at, s.movie_id, m.title AS movie, s.auditorium_id, a.name AS auditorium,
       c.id AS cinema_id, c.name AS cinema, c.time_zone,
       extract(isodow FROM s.starts_at AT TIME ZONE c.time_zone)::int AS weekday,
       extract(hour FROM s.starts_at AT TIME ZONE c.time_zone)::int AS hour,
       (SELECT count(*) FROM seat WHERE seat.auditorium_id = s.auditorium_id AND NOT blocked)::int AS capacity,
       (SELECT count(*) FROM ticket t WHERE t.screening_id = s.id AND t.status = 'live')::int AS sold
  FROM screening s
  JOIN auditorium a ON a.id = s.auditorium_id
  JOIN cinema c ON c.id = a.cinema_id
  JOIN movie m ON m.id = s.movie_id
 WHERE s.status = 'scheduled' AND s.starts_at > $1 AND s.starts_at <= $1 + $2 * interval '1 day'
   AND ($3::bigint IS NULL OR c.id = $3::bigint)
 ORDER BY s.starts_at, s.id
 LIMIT 2000;

-- name: model_latest
SELECT id, fitted_at, model FROM forecast_model ORDER BY id DESC LIMIT 1;

-- name: model_store
-- A newly fitted model; older ones beyond the newest 50 are dropped.
WITH added AS (INSERT INTO forecast_model (fitted_at, model) VALUES ($1, $2) RETURNING id)
DELETE FROM forecast_model WHERE id <= (SELECT max(id) FROM forecast_model) - 50;
