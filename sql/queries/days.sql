-- Local days (server/domain/days.py): which time zone "today" is decided in.

-- name: cinema_time_zone
SELECT time_zone FROM cinema WHERE id = $1;
