-- Figures read from PostgreSQL when Prometheus scrapes /metrics (docs/operations.md).

-- name: orders_in_flight
-- Orders between steps: few at any moment, counted through the partial index orders_stuck_idx,
-- so a scrape costs the same with ten million orders as with ten (paid, refunded... are not
-- counted here: their rates are in the request and webhook counters, their totals in reports).
SELECT status, count(*) AS orders FROM orders WHERE status IN ('pending', 'authorised') GROUP BY status
