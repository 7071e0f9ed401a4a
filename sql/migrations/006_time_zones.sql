-- Cinemas live in their own IANA time zone (docs/architecture.md, "Time"): "today", day
-- boundaries and by-day figures follow each cinema's local day.

-- Cinemas that existed before this migration are in Europe/London (Houseful's first cinemas are
-- British); new ones get catalog.default_time_zone from the app, which always names a zone. The
-- CHECK makes PostgreSQL refuse a name its own tz database does not know (the app checks first).
ALTER TABLE cinema
    ADD COLUMN time_zone text NOT NULL DEFAULT 'Europe/London'
        CHECK (length(time_zone) BETWEEN 1 AND 64
               AND (timestamptz '2000-01-01 00:00+00' AT TIME ZONE time_zone) IS NOT NULL);
ALTER TABLE cinema ALTER COLUMN time_zone DROP DEFAULT;

-- screening_sales(first, last, cinema): one row per screening whose LOCAL day (at its cinema) is
-- within first..last (of one cinema, or all when cinema is NULL), with that day, the cinema's
-- zone and the sales figures. The UTC window around the days (a day either side covers every
-- offset from -12 to +14 hours) lets the starts_at index narrow the scan first.
DROP FUNCTION screening_sales(timestamptz, timestamptz, bigint);
CREATE FUNCTION screening_sales(first_day date, last_day date, only_cinema bigint)
RETURNS TABLE (
    screening_id bigint, starts_at timestamptz, day date, status text, movie_id bigint, movie text,
    cinema_id bigint, cinema text, time_zone text, auditorium text, capacity bigint, sold bigint,
    takings bigint, refunds bigint, refund_amount bigint
)
LANGUAGE sql STABLE AS $$
    SELECT s.id, s.starts_at, (s.starts_at AT TIME ZONE c.time_zone)::date, s.status, m.id, m.title,
           c.id, c.name, c.time_zone, a.name,
           CASE WHEN s.status = 'scheduled' THEN cap.n ELSE 0 END,
           t.sold, t.takings, r.refunds, r.refund_amount
      FROM screening s
      JOIN auditorium a ON a.id = s.auditorium_id
      JOIN cinema c ON c.id = a.cinema_id
      JOIN movie m ON m.id = s.movie_id
     CROSS JOIN LATERAL (SELECT count(*) AS n FROM seat
                          WHERE seat.auditorium_id = s.auditorium_id AND NOT blocked) cap
     CROSS JOIN LATERAL (SELECT count(*) AS sold, coalesce(sum(price), 0)::bigint AS takings
                           FROM ticket WHERE ticket.screening_id = s.id AND ticket.status = 'live') t
     CROSS JOIN LATERAL (SELECT count(*) AS refunds, coalesce(sum(amount), 0)::bigint AS refund_amount
                           FROM orders WHERE orders.screening_id = s.id
                            AND orders.status IN ('refunded', 'cancelled')) r
     WHERE s.starts_at >= (first_day - 1)::timestamp AT TIME ZONE 'UTC'
       AND s.starts_at < (last_day + 2)::timestamp AT TIME ZONE 'UTC'
       AND (s.starts_at AT TIME ZONE c.time_zone)::date BETWEEN first_day AND last_day
       AND (only_cinema IS NULL OR a.cinema_id = only_cinema)
$$;

-- The buyer's view of an order also says which zone its cinema's times are in.
CREATE OR REPLACE VIEW order_detail AS
SELECT o.id, o.order_key, o.user_id, o.status, o.amount, o.currency, o.seat_ids, o.prices,
       o.payment_url, o.failure_reason, o.captured, o.refunded, o.expires_at, o.created_at,
       o.updated_at, sc.id AS screening_id, sc.starts_at, sc.ends_at, sc.status AS screening_status,
       m.title AS movie_title, a.name AS auditorium, c.name AS cinema, c.city, c.time_zone
FROM orders o
JOIN screening sc ON sc.id = o.screening_id
JOIN movie m ON m.id = sc.movie_id
JOIN auditorium a ON a.id = sc.auditorium_id
JOIN cinema c ON c.id = a.cinema_id;
