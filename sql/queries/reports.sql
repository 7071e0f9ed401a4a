-- Reports and exports: sales figures per day / movie / cinema / screening, one screening's
-- sales, and the rows of the CSV exports. Money is integer minor units.
--
-- The sales_by_* queries group the rows of screening_sales($1, $2, $3) (migration 003: every
-- screening starting in [$1, $2), optionally of cinema $3, with capacity, sold, takings and
-- refunds). Each adds an empty grouping set so the same statement returns the totals row
-- (is_total = true), sorted first so that LIMIT $4 never cuts it.

-- name: sales_by_day
SELECT (date_trunc('day', starts_at AT TIME ZONE 'UTC'))::date AS day,
       GROUPING(date_trunc('day', starts_at AT TIME ZONE 'UTC')) = 1 AS is_total,
       count(*)::bigint AS screenings, coalesce(sum(capacity), 0)::bigint AS capacity,
       coalesce(sum(sold), 0)::bigint AS sold, coalesce(sum(takings), 0)::bigint AS takings,
       coalesce(sum(refunds), 0)::bigint AS refunds, coalesce(sum(refund_amount), 0)::bigint AS refund_amount
  FROM screening_sales($1, $2, $3::bigint)
 GROUP BY GROUPING SETS ((date_trunc('day', starts_at AT TIME ZONE 'UTC')), ())
 ORDER BY is_total DESC, day
 LIMIT $4;

-- name: sales_by_movie
SELECT movie_id, movie,
       GROUPING(movie_id, movie) <> 0 AS is_total,
       count(*)::bigint AS screenings, coalesce(sum(capacity), 0)::bigint AS capacity,
       coalesce(sum(sold), 0)::bigint AS sold, coalesce(sum(takings), 0)::bigint AS takings,
       coalesce(sum(refunds), 0)::bigint AS refunds, coalesce(sum(refund_amount), 0)::bigint AS refund_amount
  FROM screening_sales($1, $2, $3::bigint)
 GROUP BY GROUPING SETS ((movie_id, movie), ())
 ORDER BY is_total DESC, movie, movie_id
 LIMIT $4;

-- name: sales_by_cinema
SELECT cinema_id, cinema,
       GROUPING(cinema_id, cinema) <> 0 AS is_total,
       count(*)::bigint AS screenings, coalesce(sum(capacity), 0)::bigint AS capacity,
       coalesce(sum(sold), 0)::bigint AS sold, coalesce(sum(takings), 0)::bigint AS takings,
       coalesce(sum(refunds), 0)::bigint AS refunds, coalesce(sum(refund_amount), 0)::bigint AS refund_amount
  FROM screening_sales($1, $2, $3::bigint)
 GROUP BY GROUPING SETS ((cinema_id, cinema), ())
 ORDER BY is_total DESC, cinema, cinema_id
 LIMIT $4;

-- name: sales_by_screening
SELECT screening_id, starts_at, status, movie_id, movie, cinema_id, cinema, auditorium,
       GROUPING(screening_id, starts_at, status, movie_id, movie, cinema_id, cinema, auditorium) <> 0 AS is_total,
       count(*)::bigint AS screenings, coalesce(sum(capacity), 0)::bigint AS capacity,
       coalesce(sum(sold), 0)::bigint AS sold, coalesce(sum(takings), 0)::bigint AS takings,
       coalesce(sum(refunds), 0)::bigint AS refunds, coalesce(sum(refund_amount), 0)::bigint AS refund_amount
  FROM screening_sales($1, $2, $3::bigint)
 GROUP BY GROUPING SETS ((screening_id, starts_at, status, movie_id, movie, cinema_id, cinema, auditorium), ())
 ORDER BY is_total DESC, starts_at, cinema, auditorium, screening_id
 LIMIT $4;

-- name: screening_head
-- One screening ($1) with where and when, and its capacity (unblocked seats) and blocked seats.
SELECT s.id AS screening_id, s.starts_at, s.ends_at, s.status, m.id AS movie_id, m.title AS movie,
       c.id AS cinema_id, c.name AS cinema, a.name AS auditorium,
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
-- Orders placed in [$1, $2), optionally for screenings of cinema $3, oldest first.
SELECT o.order_key, o.created_at, o.status, u.email::text AS customer_email, o.screening_id,
       m.title AS movie, c.name AS cinema, s.starts_at,
       (SELECT string_agg(se.row_label || se.number::text, ' ' ORDER BY se.row_label, se.number)
          FROM seat se WHERE se.id = any(o.seat_ids)) AS seats,
       o.amount, o.currency
  FROM orders o
  JOIN app_user u ON u.id = o.user_id
  JOIN screening s ON s.id = o.screening_id
  JOIN auditorium a ON a.id = s.auditorium_id
  JOIN cinema c ON c.id = a.cinema_id
  JOIN movie m ON m.id = s.movie_id
 WHERE o.created_at >= $1 AND o.created_at < $2
   AND ($3::bigint IS NULL OR a.cinema_id = $3::bigint)
 ORDER BY o.created_at, o.id;

-- name: export_tickets
-- Every ticket of a screening ($1), live and cancelled, in seat order.
SELECT k.id AS ticket_id, o.order_key, se.row_label, se.number, se.kind, k.price, k.status, k.checked_in_at
  FROM ticket k
  JOIN orders o ON o.id = k.order_id
  JOIN seat se ON se.id = k.seat_id
 WHERE k.screening_id = $1
 ORDER BY se.row_label, se.number, k.id;

-- name: export_screenings
-- Screenings starting in [$1, $2), optionally of cinema $3, with their sales; $4 is the currency.
SELECT screening_id, movie, cinema, auditorium, starts_at, status, capacity, sold, takings,
       $4::text AS currency
  FROM screening_sales($1, $2, $3::bigint)
 ORDER BY starts_at, cinema, auditorium, screening_id;
