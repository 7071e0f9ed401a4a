-- Loading the demo catalog (server/demo.py), all inside one transaction.

-- name: demo_lock
-- Held until the transaction ends, so two processes starting at once load the demo once.
SELECT pg_advisory_xact_lock($1);

-- name: demo_has_cinema
SELECT EXISTS (SELECT 1 FROM cinema);

-- name: demo_genres_upsert
-- Returns every named genre, also those an admin created before the demo was loaded.
INSERT INTO genre (name)
SELECT unnest($1::text[])
ON CONFLICT (name) DO UPDATE SET name = genre.name
RETURNING id, name::text AS name;

-- name: demo_movie_insert
INSERT INTO movie (title, director, "cast", synopsis, runtime_minutes, certificate, score, release_date, poster_url)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
RETURNING id;

-- name: demo_movie_genres_insert
INSERT INTO movie_genre (movie_id, genre_id)
SELECT * FROM unnest($1::bigint[], $2::bigint[]);

-- name: demo_cinema_insert
INSERT INTO cinema (name, city, address, latitude, longitude, rating, time_zone)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING id;

-- name: demo_auditorium_insert
INSERT INTO auditorium (cinema_id, name, category)
VALUES ($1, $2, $3)
RETURNING id;

-- name: demo_seats_insert
INSERT INTO seat (auditorium_id, row_label, number, x, y, kind, blocked)
SELECT $1, s.row_label, s.number, s.x, s.y, s.kind, s.blocked
FROM unnest($2::text[], $3::int[], $4::float8[], $5::float8[], $6::text[], $7::bool[])
    AS s (row_label, number, x, y, kind, blocked);

-- name: demo_companions_link
-- Points each companion seat (row, number) at the wheelchair place (row, wheelchair_number).
UPDATE seat AS companion
SET companion_of = wheelchair.id
FROM unnest($2::text[], $3::int[], $4::int[]) AS p (row_label, number, wheelchair_number)
JOIN seat AS wheelchair
    ON wheelchair.auditorium_id = $1
   AND wheelchair.row_label = p.row_label
   AND wheelchair.number = p.wheelchair_number
   AND wheelchair.kind = 'wheelchair'
WHERE companion.auditorium_id = $1
  AND companion.row_label = p.row_label
  AND companion.number = p.number;

-- name: demo_screenings_insert
-- prices arrive as JSON text so the query works with or without a jsonb codec on the connection.
INSERT INTO screening (auditorium_id, movie_id, starts_at, ends_at, prices, orphan_rule)
SELECT s.auditorium_id, s.movie_id, s.starts_at, s.ends_at, s.prices::jsonb, true
FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[], $4::timestamptz[], $5::text[])
    AS s (auditorium_id, movie_id, starts_at, ends_at, prices);

-- name: history_lock
-- Held until the transaction ends: the sales history is loaded once.
SELECT pg_advisory_xact_lock($1);

-- name: history_user
-- The simulated buyer of the demo's sales history (cannot log in: its hash is no argon2 hash).
INSERT INTO app_user (email, name, password_hash, role)
VALUES ('history@houseful.local', 'Simulated buyers', '!', 'customer')
ON CONFLICT (email) DO NOTHING
RETURNING id;

-- name: history_auditoriums
-- Every auditorium by (cinema name, auditorium name), with its unblocked seats.
SELECT c.name AS cinema, a.name AS auditorium, a.id,
       array_agg(s.id ORDER BY s.row_label, s.number) FILTER (WHERE NOT s.blocked) AS seats
  FROM auditorium a JOIN cinema c ON c.id = a.cinema_id JOIN seat s ON s.auditorium_id = a.id
 GROUP BY c.name, a.name, a.id;

-- name: history_movies
SELECT id, title FROM movie;

-- name: history_screenings_insert
-- Past screenings ($1 auditorium, $2 movie, $3/$4 start/end, $5 prices JSON text), their ids in order.
INSERT INTO screening (auditorium_id, movie_id, starts_at, ends_at, prices, orphan_rule)
SELECT s.auditorium_id, s.movie_id, s.starts_at, s.ends_at, s.prices::jsonb, true
FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[], $4::timestamptz[], $5::text[]) WITH ORDINALITY
    AS s (auditorium_id, movie_id, starts_at, ends_at, prices, i)
ORDER BY s.i
RETURNING id;

-- name: history_sales_insert
-- Paid one-seat orders of user $1 and their live tickets: order key $2, screening $3, seat $4,
-- price $5, bought at $6; currency $7.
WITH o AS (
    INSERT INTO orders (order_key, user_id, screening_id, status, amount, currency, seat_ids, prices,
                        idempotency_key, expires_at, created_at, updated_at, captured)
    SELECT x.k, $1, x.s, 'paid', x.p, $7, ARRAY[x.seat], ARRAY[x.p], x.k, x.t + interval '10 minutes', x.t, x.t, true
      FROM unnest($2::text[], $3::bigint[], $4::bigint[], $5::int[], $6::timestamptz[]) AS x (k, s, seat, p, t)
    RETURNING id, screening_id, seat_ids[1] AS seat, amount, created_at
)
INSERT INTO ticket (order_id, screening_id, seat_id, price, created_at)
SELECT id, screening_id, seat, amount, created_at FROM o;
