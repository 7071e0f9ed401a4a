-- Staff dashboard: which screenings a filter shows, and their takings.
-- Live figures (held, free, houseful) come from Redis; these are PostgreSQL's part.

-- name: screenings_between
-- Scheduled screenings whose local day at their cinema is within $1..$2 (dates, inclusive), of
-- cinema $3 or every cinema (NULL), at most $4 rows. The UTC window (a day either side covers
-- every UTC offset) lets the starts_at index narrow the scan. Takings are the prices of the
-- screening's live tickets.
SELECT s.id AS screening_id,
       m.title AS movie,
       c.id AS cinema_id,
       c.name AS cinema,
       c.time_zone,
       a.name AS auditorium,
       s.starts_at,
       coalesce(t.takings, 0)::bigint AS takings,
       coalesce(t.tickets, 0)::bigint AS tickets,
       (SELECT count(*) FROM waitlist_entry w WHERE w.screening_id = s.id AND w.status = 'waiting') AS waiting
  FROM screening s
  JOIN movie m ON m.id = s.movie_id
  JOIN auditorium a ON a.id = s.auditorium_id
  JOIN cinema c ON c.id = a.cinema_id
  LEFT JOIN LATERAL (
       SELECT sum(k.price) AS takings, count(*) AS tickets
         FROM ticket k
        WHERE k.screening_id = s.id AND k.status = 'live'
  ) t ON true
 WHERE s.starts_at >= ($1::date - 1)::timestamp AT TIME ZONE 'UTC'
   AND s.starts_at < ($2::date + 2)::timestamp AT TIME ZONE 'UTC'
   AND (s.starts_at AT TIME ZONE c.time_zone)::date BETWEEN $1::date AND $2::date
   AND s.status = 'scheduled'
   AND ($3::bigint IS NULL OR a.cinema_id = $3::bigint)
 ORDER BY s.starts_at, c.name, a.name, s.id
 LIMIT $4;

-- name: takings_of
-- Takings, live ticket counts and waiting-list lengths of some screenings ($1 bigint[]).
SELECT s.id AS screening_id, coalesce(t.takings, 0)::bigint AS takings, coalesce(t.tickets, 0)::bigint AS tickets,
       (SELECT count(*) FROM waitlist_entry w WHERE w.screening_id = s.id AND w.status = 'waiting') AS waiting
  FROM screening s
  LEFT JOIN LATERAL (SELECT sum(price) AS takings, count(*) AS tickets FROM ticket k
                      WHERE k.screening_id = s.id AND k.status = 'live') t ON true
 WHERE s.id = any($1::bigint[]);
