-- Catalog: genres and movies.

-- name: genre_list
SELECT g.id, g.name::text AS name, count(mg.movie_id) AS movie_count
FROM genre g
LEFT JOIN movie_genre mg ON mg.genre_id = g.id
GROUP BY g.id
ORDER BY lower(g.name::text), g.id

-- name: genre_get
SELECT g.id, g.name::text AS name,
       (SELECT count(*) FROM movie_genre mg WHERE mg.genre_id = g.id) AS movie_count
FROM genre g
WHERE g.id = $1

-- name: genre_insert
INSERT INTO genre (name) VALUES ($1::text) RETURNING id

-- name: genre_rename
UPDATE genre SET name = $2::text WHERE id = $1 RETURNING id

-- name: genre_delete
DELETE FROM genre WHERE id = $1 RETURNING id

-- name: genres_known
SELECT coalesce(array_agg(id), '{}') FROM genre WHERE id = any($1::bigint[])

-- name: movie_get
SELECT m.id, m.title, m.director, m."cast", m.synopsis, m.runtime_minutes, m.certificate, m.score,
       m.release_date, m.poster_url,
       coalesce((SELECT json_agg(json_build_object('id', g.id, 'name', g.name::text) ORDER BY lower(g.name::text))
                 FROM movie_genre mg JOIN genre g ON g.id = mg.genre_id WHERE mg.movie_id = m.id), '[]') AS genres
FROM movie m
WHERE m.id = $1

-- name: movie_lock
SELECT id, title, director, "cast", synopsis, runtime_minutes, certificate, score, release_date, poster_url
FROM movie
WHERE id = $1
FOR UPDATE

-- name: movie_insert
INSERT INTO movie (title, director, "cast", synopsis, runtime_minutes, certificate, score, release_date, poster_url)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
RETURNING id

-- name: movie_update
UPDATE movie
SET title = $2, director = $3, "cast" = $4, synopsis = $5, runtime_minutes = $6, certificate = $7,
    score = $8, release_date = $9, poster_url = $10
WHERE id = $1

-- name: movie_delete
DELETE FROM movie WHERE id = $1

-- name: movie_has_screenings
SELECT EXISTS (SELECT 1 FROM screening WHERE movie_id = $1)

-- name: movie_genres_clear
DELETE FROM movie_genre WHERE movie_id = $1

-- name: movie_genres_add
INSERT INTO movie_genre (movie_id, genre_id)
SELECT $1, unnest($2::bigint[])
ON CONFLICT DO NOTHING

-- name: movie_search
-- $1 title words (case-insensitive substring), $2 genre id, $3 genre name, $4 "showing" filter on,
-- $5/$6 the showing range [from, to), $7 limit, $8 offset. total counts every match.
SELECT m.id, m.title, m.director, m."cast", m.synopsis, m.runtime_minutes, m.certificate, m.score,
       m.release_date, m.poster_url,
       coalesce((SELECT json_agg(json_build_object('id', g.id, 'name', g.name::text) ORDER BY lower(g.name::text))
                 FROM movie_genre mg JOIN genre g ON g.id = mg.genre_id WHERE mg.movie_id = m.id), '[]') AS genres,
       count(*) OVER () AS total
FROM movie m
WHERE ($1::text IS NULL OR strpos(lower(m.title), lower($1::text)) > 0)
  AND ($2::bigint IS NULL OR EXISTS (
        SELECT 1 FROM movie_genre mg WHERE mg.movie_id = m.id AND mg.genre_id = $2))
  AND ($3::text IS NULL OR EXISTS (
        SELECT 1 FROM movie_genre mg JOIN genre g ON g.id = mg.genre_id
        WHERE mg.movie_id = m.id AND lower(g.name::text) = lower($3::text)))
  AND (NOT $4::boolean OR EXISTS (
        SELECT 1 FROM screening s
        WHERE s.movie_id = m.id AND s.status = 'scheduled'
          AND ($5::timestamptz IS NULL OR s.starts_at >= $5)
          AND ($6::timestamptz IS NULL OR s.starts_at < $6)))
ORDER BY lower(m.title), m.id
LIMIT $7 OFFSET $8

-- name: movie_upcoming
-- A movie's scheduled screenings from $2 on, for its page (grouped by cinema in Python).
SELECT s.id, s.starts_at, s.ends_at, s.prices, s.auditorium_id, a.name AS auditorium_name,
       c.id AS cinema_id, c.name AS cinema_name, c.city, c.time_zone
FROM screening s
JOIN auditorium a ON a.id = s.auditorium_id
JOIN cinema c ON c.id = a.cinema_id
WHERE s.movie_id = $1 AND s.status = 'scheduled' AND s.starts_at >= $2
ORDER BY c.city, c.name, c.id, s.starts_at
LIMIT 1000
