-- Reports: the "sales made in a period" figures, cinema managers, the monthly report archive.

-- sales_made(first, last, cinema): one row per screening and local day (at its cinema) within
-- first..last on which it sold a ticket or refunded an order: the tickets SOLD that day
-- (ticket.created_at, written by the app's clock) that are still live, their prices, and the
-- orders refunded or cancelled that day (their order_event). Same columns as screening_sales
-- (migration 006), so the `sales` query groups either; `day` is the day of the sale, capacity the
-- screening's (counted once per day it sold).
CREATE INDEX ticket_created_idx ON ticket (created_at);
CREATE INDEX order_event_refund_idx ON order_event (created_at) WHERE to_status IN ('refunded', 'cancelled');

CREATE FUNCTION sales_made(first_day date, last_day date, only_cinema bigint)
RETURNS TABLE (
    screening_id bigint, starts_at timestamptz, day date, status text, movie_id bigint, movie text,
    cinema_id bigint, cinema text, time_zone text, auditorium text, capacity bigint, sold bigint,
    takings bigint, refunds bigint, refund_amount bigint
)
LANGUAGE sql STABLE AS $$
    WITH win AS (
        SELECT (first_day - 1)::timestamp AT TIME ZONE 'UTC' AS lo,
               (last_day + 2)::timestamp AT TIME ZONE 'UTC' AS hi
    ), t AS (
        SELECT t.screening_id, t.price, t.created_at
          FROM ticket t, win
         WHERE t.created_at >= win.lo AND t.created_at < win.hi AND t.status = 'live'
    ), r AS (
        SELECT o.screening_id, o.amount, e.created_at
          FROM order_event e JOIN orders o ON o.id = e.order_id, win
         WHERE e.to_status IN ('refunded', 'cancelled') AND e.created_at >= win.lo AND e.created_at < win.hi
           AND o.status IN ('refunded', 'cancelled')
    ), hits AS (
        SELECT t.screening_id, 1 AS sold, t.price AS takings, 0 AS refunds, 0 AS refund_amount, t.created_at
          FROM t
        UNION ALL
        SELECT r.screening_id, 0, 0, 1, r.amount, r.created_at FROM r
    )
    SELECT s.id, s.starts_at, (h.created_at AT TIME ZONE c.time_zone)::date, s.status, m.id, m.title,
           c.id, c.name, c.time_zone, a.name,
           CASE WHEN s.status = 'scheduled' THEN
               (SELECT count(*) FROM seat WHERE seat.auditorium_id = s.auditorium_id AND NOT blocked)
           ELSE 0 END,
           sum(h.sold)::bigint, sum(h.takings)::bigint, sum(h.refunds)::bigint, sum(h.refund_amount)::bigint
      FROM hits h
      JOIN screening s ON s.id = h.screening_id
      JOIN auditorium a ON a.id = s.auditorium_id
      JOIN cinema c ON c.id = a.cinema_id
      JOIN movie m ON m.id = s.movie_id
     WHERE (h.created_at AT TIME ZONE c.time_zone)::date BETWEEN first_day AND last_day
       AND (only_cinema IS NULL OR a.cinema_id = only_cinema)
     GROUP BY s.id, m.id, c.id, a.id, 3
$$;

-- Which staff manage which cinema: they receive its monthly report.
CREATE TABLE cinema_manager (
    cinema_id bigint NOT NULL REFERENCES cinema (id) ON DELETE CASCADE,
    user_id   bigint NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    PRIMARY KEY (cinema_id, user_id)
);
CREATE INDEX cinema_manager_user_idx ON cinema_manager (user_id);

-- One stored monthly report per cinema (cinema_id) or for the chain (cinema_id NULL) and month.
-- The unique index is what makes the monthly job run once per month per cinema, however many
-- workers race for it: the first INSERT wins, the others find the row taken.
CREATE TABLE report_archive (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    cinema_id    bigint REFERENCES cinema (id) ON DELETE CASCADE,
    month        date NOT NULL CHECK (extract(day FROM month) = 1),
    title        text NOT NULL,
    html         text,
    pdf          bytea,
    figures      jsonb NOT NULL DEFAULT '{}'::jsonb,
    emailed_to   integer NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL,
    finished_at  timestamptz
);
CREATE UNIQUE INDEX report_archive_month_uq ON report_archive (coalesce(cinema_id, 0), month);

-- The sell-out forecast's fitted model (server/domain/forecast.py): coefficients of a linear model,
-- refitted by the hourly job; requests apply the newest.
CREATE TABLE forecast_model (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    fitted_at timestamptz NOT NULL,
    model     jsonb NOT NULL
);
