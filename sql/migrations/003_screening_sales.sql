-- screening_sales(from, to, cinema): one row per screening starting in [from, to) (of one cinema,
-- or all when cinema is NULL) with its sales figures. The sales reports group these rows by day,
-- movie, cinema or screening, and the screenings export lists them, so the figures are defined
-- once. capacity counts unblocked seats (0 once cancelled: it offers none); sold and takings are
-- live tickets; refunds are orders refunded or cancelled after payment.
CREATE FUNCTION screening_sales(from_ts timestamptz, to_ts timestamptz, only_cinema bigint)
RETURNS TABLE (
    screening_id bigint, starts_at timestamptz, status text, movie_id bigint, movie text,
    cinema_id bigint, cinema text, auditorium text, capacity bigint, sold bigint, takings bigint,
    refunds bigint, refund_amount bigint
)
LANGUAGE sql STABLE AS $$
    SELECT s.id, s.starts_at, s.status, m.id, m.title, c.id, c.name, a.name,
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
     WHERE s.starts_at >= from_ts AND s.starts_at < to_ts
       AND (only_cinema IS NULL OR a.cinema_id = only_cinema)
$$;
