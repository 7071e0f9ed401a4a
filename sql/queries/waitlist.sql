-- The waiting list of houseful screenings (server/live/waitlist.py). PostgreSQL keeps the list;
-- Redis keeps a copy of the line for the handover script. Times come from the app's clock.

-- name: screening_state
SELECT id, status, starts_at FROM screening WHERE id = $1

-- name: entry_insert
-- Join the line ($1 screening, $2 user, $3 seats wanted, $4 the app's clock); nothing when the
-- user is in this line already.
INSERT INTO waitlist_entry (screening_id, user_id, seats, joined_at, updated_at)
VALUES ($1, $2, $3, $4, $4)
ON CONFLICT (screening_id, user_id) WHERE status = 'waiting' DO NOTHING
RETURNING id

-- name: entry_mine
-- The user's latest entry in a screening's list.
SELECT id, status, seats, offered_seats, offer_expires_at, joined_at FROM waitlist_entry
 WHERE screening_id = $1 AND user_id = $2
 ORDER BY id DESC LIMIT 1

-- name: entry_position
SELECT count(*) FROM waitlist_entry WHERE screening_id = $1 AND status = 'waiting' AND id <= $2

-- name: waiting_count
SELECT count(*) FROM waitlist_entry WHERE screening_id = $1 AND status = 'waiting'

-- name: entry_leave
UPDATE waitlist_entry SET status = 'left', updated_at = $3
 WHERE screening_id = $1 AND user_id = $2 AND status = 'waiting'
RETURNING id

-- name: line
-- The line in order: who is waiting, for how many seats.
SELECT id, user_id, seats FROM waitlist_entry WHERE screening_id = $1 AND status = 'waiting' ORDER BY id

-- name: entry_offered
-- Record a handover ($2 seats, $3 the app's clock, $4 the end of the claim window). Running it
-- twice (two servers recording the same offer) changes nothing; an entry that left gets no row.
UPDATE waitlist_entry
   SET status = 'offered', offered_seats = $2::bigint[], offered_at = coalesce(offered_at, $3),
       offer_expires_at = $4, updated_at = $3
 WHERE id = $1 AND status <> 'left'
RETURNING user_id

-- name: screenings_waiting
-- Screenings still on sale at $1 (the app's clock) with anyone in line: each server tends their lines.
SELECT DISTINCT w.screening_id
  FROM waitlist_entry w JOIN screening s ON s.id = w.screening_id
 WHERE w.status = 'waiting' AND s.status = 'scheduled' AND s.starts_at > $1
 LIMIT 1000
