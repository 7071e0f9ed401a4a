-- The waiting room (server/live/admission.py, server/domain/waiting_room.py).

-- name: policy_get
-- A screening's on-sale time, policy and capacity (unblocked seats); no row = no such screening.
SELECT s.id, s.sales_open_at, s.status, s.starts_at, s.movie_id,
       coalesce(w.mode, 'off') AS mode, w.admit_per_second, w.max_active, coalesce(w.paused, false) AS paused,
       (SELECT count(*) FROM seat WHERE seat.auditorium_id = s.auditorium_id AND NOT seat.blocked) AS capacity
  FROM screening s
  LEFT JOIN waiting_room w ON w.screening_id = s.id
 WHERE s.id = $1;

-- name: sales_open_set
UPDATE screening SET sales_open_at = $2 WHERE id = $1;

-- name: policy_set
INSERT INTO waiting_room (screening_id, mode, admit_per_second, max_active, paused, updated_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (screening_id) DO UPDATE
   SET mode = EXCLUDED.mode, admit_per_second = EXCLUDED.admit_per_second,
       max_active = EXCLUDED.max_active, paused = EXCLUDED.paused, updated_at = EXCLUDED.updated_at;

-- name: other_screenings
-- Other screenings of the same film still to start and on sale, soonest first (the "sold out" frame's links).
SELECT s.id, s.starts_at, c.name AS cinema
  FROM screening s
  JOIN auditorium a ON a.id = s.auditorium_id
  JOIN cinema c ON c.id = a.cinema_id
 WHERE s.movie_id = $2 AND s.id <> $1 AND s.status = 'scheduled' AND s.starts_at > $3
 ORDER BY s.starts_at
 LIMIT 5;
