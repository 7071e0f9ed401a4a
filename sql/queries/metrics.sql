-- Figures read from PostgreSQL when Prometheus scrapes /metrics (docs/operations.md).

-- name: orders_by_status
SELECT status, count(*) AS orders FROM orders GROUP BY status
