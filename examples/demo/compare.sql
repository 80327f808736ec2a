-- The same figures two ways: the one-row pg_tally read, and the live queries a dashboard
-- runs today (two queries with FILTER). Prints both, whether they agree, and their times.
\pset footer off
CREATE OR REPLACE FUNCTION pg_temp.live_figures() RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_build_object(
           'total_users', u.total, 'active_users', u.active,
           'total_orders', o.total, 'orders_today', o.today, 'revenue_today', o.revenue,
           'orders_per_status', (SELECT jsonb_object_agg(status, n) FROM
                                   (SELECT status, count(*) AS n FROM orders GROUP BY status) s))
    FROM (SELECT count(*) AS total, count(*) FILTER (WHERE is_active) AS active FROM users) u,
         (SELECT count(*) AS total,
                 count(*) FILTER (WHERE created_at >= date_trunc('day', now(), 'UTC')) AS today,
                 coalesce(sum(amount) FILTER (WHERE created_at >= date_trunc('day', now(), 'UTC')
                                                AND status IN ('PAID', 'SHIPPED')), 0) AS revenue
            FROM orders) o
$$;

-- Time each read inside the server: pg_tally 200 times, live 5 times.
CREATE OR REPLACE FUNCTION pg_temp.timed(reader text, runs int, OUT figures jsonb, OUT ms numeric)
LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz;
BEGIN
  EXECUTE reader INTO figures;            -- warm up
  t0 := clock_timestamp();
  FOR i IN 1..runs LOOP EXECUTE reader INTO figures; END LOOP;
  ms := round((extract(epoch FROM clock_timestamp() - t0) * 1000 / runs)::numeric, 3);
END $$;

CREATE TEMP TABLE reads AS
SELECT 'pg_tally' AS method, * FROM pg_temp.timed($$SELECT tally.snapshot('admin')$$, 200)
UNION ALL
SELECT 'live', * FROM pg_temp.timed($$SELECT pg_temp.live_figures()$$, 5);

\echo
\echo 'Dashboard figures (tally.snapshot vs live aggregates):'
SELECT key AS metric, t.value AS pg_tally, l.value AS live,
       CASE WHEN t.value = l.value THEN 'same' ELSE 'DIFFERENT' END AS check
  FROM (SELECT * FROM jsonb_each((SELECT figures FROM reads WHERE method = 'pg_tally'))) t
  JOIN (SELECT * FROM jsonb_each((SELECT figures FROM reads WHERE method = 'live'))) l USING (key)
 ORDER BY key;
\echo 'Read time per dashboard load (server side):'
SELECT method, ms AS ms_per_read,
       round(ms / (SELECT ms FROM reads WHERE method = 'pg_tally'), 1) AS times_pg_tally
  FROM reads ORDER BY ms;
\echo 'The typed view for an unmanaged Django model:'
SELECT * FROM admin_dashboard;
SELECT CASE WHEN (SELECT figures FROM reads WHERE method = 'pg_tally') - 'as_of'
               = (SELECT figures FROM reads WHERE method = 'live')
            THEN 'OK: the snapshot equals the live figures'
            ELSE 'MISMATCH: the snapshot differs from the live figures' END AS verdict \gset
\echo :verdict
