-- Live seats: what Redis needs to know about a screening, read from PostgreSQL (the truth).

-- name: screening_for_layout
-- The screening, its auditorium's best spot and its sale rules ($1 screening id).
SELECT s.id, s.auditorium_id, s.starts_at, s.ends_at, s.prices, s.status, s.orphan_rule,
       a.best_x, a.best_y
  FROM screening s
  JOIN auditorium a ON a.id = s.auditorium_id
 WHERE s.id = $1;

-- name: auditorium_seats
-- Every seat of an auditorium ($1), front rows first, left to right.
SELECT id, row_label, number, x, y, kind, blocked, companion_of
  FROM seat
 WHERE auditorium_id = $1
 ORDER BY y, row_label, x, number;

-- name: sold_seats
-- Seats with a live ticket for a screening ($1).
SELECT seat_id
  FROM ticket
 WHERE screening_id = $1 AND status = 'live'
 ORDER BY seat_id;

-- name: upcoming_in_auditorium
-- Screenings whose live state may be cached in Redis: not yet ended at $2 (the app's clock).
SELECT id FROM screening WHERE auditorium_id = $1 AND ends_at > $2 ORDER BY starts_at
