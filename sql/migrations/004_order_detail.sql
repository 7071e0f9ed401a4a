-- order_detail: an order with what its buyer sees of the screening (movie, cinema, auditorium).
-- The order page and "my orders" read the same columns, defined once here.
CREATE VIEW order_detail AS
SELECT o.id, o.order_key, o.user_id, o.status, o.amount, o.currency, o.seat_ids, o.prices,
       o.payment_url, o.failure_reason, o.captured, o.refunded, o.expires_at, o.created_at,
       o.updated_at, sc.id AS screening_id, sc.starts_at, sc.ends_at, sc.status AS screening_status,
       m.title AS movie_title, a.name AS auditorium, c.name AS cinema, c.city
FROM orders o
JOIN screening sc ON sc.id = o.screening_id
JOIN movie m ON m.id = sc.movie_id
JOIN auditorium a ON a.id = sc.auditorium_id
JOIN cinema c ON c.id = a.cinema_id;
