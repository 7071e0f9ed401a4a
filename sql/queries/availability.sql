-- Availability for listings (server/live/availability.py), for screenings not warm in Redis.

-- name: listing_counts
-- $1 screening ids: each one's capacity (seats not blocked) and live tickets.
SELECT s.id,
       (SELECT count(*) FROM seat st WHERE st.auditorium_id = s.auditorium_id AND NOT st.blocked)::int AS capacity,
       (SELECT count(*) FROM ticket t WHERE t.screening_id = s.id AND t.status = 'live')::int AS sold
FROM screening s
WHERE s.id = any($1::bigint[])
