-- Reports and exports: sales figures per day / movie / cinema / screening, one screening's
-- sales, and the rows of the CSV exports. Money is integer minor units. Days are local days at
-- each screening's cinema (its time_zone); exports end with that zone, which their times are in.
--
-- name: sales
-- Sales on local days $1..$2 (at each screening's cinema), of cinema $3 or all, grouped by $4:
-- 'day', 'movie', 'cinema' or 'screening'. $6 is the basis: 'shown' counts the screenings shown
-- on those days (screening_sales, migration 006), 'sold' the tickets sold and orders refunded on
-- those days, whatever day the show is (sales_made, migration 010); a one-time filter on $6 runs
-- only one of the two. Every key column is NULL unless grouping $4 uses it, so one
-- statement serves the four groupings; the empty grouping set adds the totals row
-- (is_total = true), sorted first so that LIMIT $5 never cuts it.
SELECT day, movie_id, movie, cinema_id, cinema, time_zone, screening_id, starts_at, status, auditorium,
       GROUPING(day, movie_id, movie, cinema_id, cinema, time_zone, screening_id, starts_at, status,
                auditorium) <> 0 AS is_total,
       count(DISTINCT sid)::bigint AS screenings, coalesce(sum(capacity), 0)::bigint AS capacity,
       coalesce(sum(sold), 0)::bigint AS sold, coalesce(sum(takings), 0)::bigint AS takings,
       coalesce(sum(refunds), 0)::bigint AS refunds, coalesce(sum(refund_amount), 0)::bigint AS refund_amount
  FROM (SELECT CASE WHEN $4::text IN ('day', 'screening') THEN r.day END AS day,
               CASE WHEN $4::text IN ('movie', 'screening') THEN r.movie_id END AS movie_id,
               CASE WHEN $4::text IN ('movie', 'screening') THEN r.movie END AS movie,
               CASE WHEN $4::text IN ('cinema', 'screening') THEN r.cinema_id END AS cinema_id,
               CASE WHEN $4::text IN ('cinema', 'screening') THEN r.cinema END AS cinema,
               CASE WHEN $4::text IN ('cinema', 'screening') THEN r.time_zone END AS time_zone,
               CASE WHEN $4::text = 'screening' THEN r.screening_id END AS screening_id,
               CASE WHEN $4::text = 'screening' THEN r.starts_at END AS starts_at,
               CASE WHEN $4::text = 'screening' THEN r.status END AS status,
               CASE WHEN $4::text = 'screening' THEN r.auditorium END AS auditorium,
               r.screening_id AS sid, r.capacity, r.sold, r.takings, r.refunds, r.refund_amount
          FROM (SELECT * FROM screening_sales($1, $2, $3::bigint) WHERE $6::text = 'shown'
                UNION ALL
                SELECT * FROM sales_made($1, $2, $3::bigint) WHERE $6::text = 'sold') r) g
 GROUP BY GROUPING SETS ((day, movie_id, movie, cinema_id, cinema, time_zone, screening_id, starts_at, status,
                          auditorium), ())
 ORDER BY is_total DESC, day, starts_at, cinema, auditorium, movie, cinema_id, movie_id, screening_id
 LIMIT $5;

-- name: screening_head
-- One screening ($1) with where and when, and its capacity (unblocked seats) and blocked seats.
SELECT s.id AS screening_id, s.starts_at, s.ends_at, s.status, m.id AS movie_id, m.title AS movie,
       c.id AS cinema_id, c.name AS cinema, c.time_zone, a.name AS auditorium,
       (SELECT count(*) FROM seat WHERE auditorium_id = s.auditorium_id AND NOT blocked)::bigint AS capacity,
       (SELECT count(*) FROM seat WHERE auditorium_id = s.auditorium_id AND blocked)::bigint AS blocked
  FROM screening s
  JOIN auditorium a ON a.id = s.auditorium_id
  JOIN cinema c ON c.id = a.cinema_id
  JOIN movie m ON m.id = s.movie_id
 WHERE s.id = $1;

-- name: screening_by_kind
-- Per seat kind of a screening ($1): unblocked seats, live tickets, their takings and check-ins.
-- A live ticket is unique per seat, so the LEFT JOIN adds at most one row per seat.
SELECT se.kind,
       count(*) FILTER (WHERE NOT se.blocked)::bigint AS capacity,
       count(k.id)::bigint AS sold,
       coalesce(sum(k.price), 0)::bigint AS takings,
       count(k.checked_in_at)::bigint AS checked_in
  FROM screening s
  JOIN seat se ON se.auditorium_id = s.auditorium_id
  LEFT JOIN ticket k ON k.seat_id = se.id AND k.screening_id = s.id AND k.status = 'live'
 WHERE s.id = $1
 GROUP BY se.kind
 ORDER BY se.kind;

-- name: screening_orders_by_status
-- Orders of a screening ($1) per status, with their amounts.
SELECT status, count(*)::bigint AS orders, coalesce(sum(amount), 0)::bigint AS amount
  FROM orders
 WHERE screening_id = $1
 GROUP BY status
 ORDER BY status;

-- name: screening_exists
SELECT EXISTS (SELECT 1 FROM screening WHERE id = $1);

-- name: export_orders
-- Orders placed on local days $1..$2 (at the cinema of their screening), optionally for screenings
-- of cinema $3, oldest first. The UTC window (a day either side covers every UTC offset) narrows
-- the rows before each one's local day is checked.
SELECT o.order_key, o.created_at, o.status, u.email::text AS customer_email, o.screening_id,
       m.title AS movie, c.name AS cinema, s.starts_at,
       (SELECT string_agg(se.row_label || se.number::text, ' ' ORDER BY se.row_label, se.number)
          FROM seat se WHERE se.id = any(o.seat_ids)) AS seats,
       o.amount, o.currency, c.time_zone
  FROM orders o
  JOIN app_user u ON u.id = o.user_id
  JOIN screening s ON s.id = o.screening_id
  JOIN auditorium a ON a.id = s.auditorium_id
  JOIN cinema c ON c.id = a.cinema_id
  JOIN movie m ON m.id = s.movie_id
 WHERE o.created_at >= ($1::date - 1)::timestamp AT TIME ZONE 'UTC'
   AND o.created_at < ($2::date + 2)::timestamp AT TIME ZONE 'UTC'
   AND (o.created_at AT TIME ZONE c.time_zone)::date BETWEEN $1::date AND $2::date
   AND ($3::bigint IS NULL OR a.cinema_id = $3::bigint)
 ORDER BY o.created_at, o.id;

-- name: export_tickets
-- Every ticket of a screening ($1), live and cancelled, in seat order.
SELECT k.id AS ticket_id, o.order_key, se.row_label, se.number, se.kind, k.price, k.status, k.checked_in_at,
       c.time_zone
  FROM ticket k
  JOIN orders o ON o.id = k.order_id
  JOIN seat se ON se.id = k.seat_id
  JOIN auditorium a ON a.id = se.auditorium_id
  JOIN cinema c ON c.id = a.cinema_id
 WHERE k.screening_id = $1
 ORDER BY se.row_label, se.number, k.id;

-- name: export_screenings
-- Screenings on local days $1..$2, optionally of cinema $3, with their sales; $4 is the currency.
SELECT screening_id, movie, cinema, auditorium, starts_at, status, capacity, sold, takings,
       $4::text AS currency, time_zone
  FROM screening_sales($1, $2, $3::bigint)
 ORDER BY starts_at, cinema, auditorium, screening_id;

-- name: export_totals
-- Per cinema ($4 = 'cinema') or per movie ($4 = 'movie'): screenings, capacity, tickets, takings
-- and refunds on local days $1..$2, optionally of cinema $3, on basis $5 ('shown' or 'sold', as
-- in `sales`); $6 is the currency.
SELECT CASE WHEN $4::text = 'cinema' THEN r.cinema_id ELSE r.movie_id END AS id,
       CASE WHEN $4::text = 'cinema' THEN r.cinema ELSE r.movie END AS name,
       count(DISTINCT r.screening_id)::bigint AS screenings, sum(r.capacity)::bigint AS capacity,
       sum(r.sold)::bigint AS sold,
       sum(r.takings)::bigint AS takings, sum(r.refunds)::bigint AS refunds,
       sum(r.refund_amount)::bigint AS refund_amount, $6::text AS currency
  FROM (SELECT * FROM screening_sales($1, $2, $3::bigint) WHERE $5::text = 'shown'
        UNION ALL
        SELECT * FROM sales_made($1, $2, $3::bigint) WHERE $5::text = 'sold') r
 GROUP BY 1, 2
 ORDER BY 2, 1;
