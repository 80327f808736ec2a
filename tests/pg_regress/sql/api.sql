-- The SQL API on the reference workload: users and orders, a dashboard and its typed view.
CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL, is_active boolean NOT NULL DEFAULT true,
                    created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE orders (id serial PRIMARY KEY, user_id int REFERENCES users, status text NOT NULL,
                     amount numeric(12,2), created_at timestamptz NOT NULL DEFAULT now());
INSERT INTO users (email, is_active) SELECT 'u' || i || '@example.com', i % 10 < 7 FROM generate_series(1, 100) i;
INSERT INTO orders (user_id, status, amount, created_at)
SELECT 1 + i % 100, (ARRAY['PENDING','PAID','SHIPPED','CANCELLED','REFUNDED'])[1 + i % 5], (i % 97) + 0.25,
       now() - make_interval(hours => i % 72)
  FROM generate_series(1, 1000) i;

-- Definitions backfill from existing rows and return what was stored.
SELECT tally.create_metric('total_users', 'users');
SELECT tally.create_metric('active_users', 'users', filter => 'is_active');
SELECT tally.create_metric('total_orders', 'orders');
SELECT tally.create_metric('orders_per_status', 'orders', group_by => 'status');
SELECT tally.create_metric('revenue_today', 'orders', 'sum', 'amount',
                           filter => $$status IN ('PAID', 'SHIPPED')$$,
                           bucket => 'day', bucket_column => 'created_at', time_zone => 'UTC');
SELECT tally.create_metric('avg_order', 'orders', 'avg', 'amount');
SELECT name, source, aggregate, column_name, filter, group_by, bucket, bucket_column, time_zone FROM tally.metrics ORDER BY name;

-- Figures equal the live aggregates.
SELECT tally.value('total_users') = (SELECT count(*) FROM users) AS total_users_ok,
       tally.value('active_users') = (SELECT count(*) FROM users WHERE is_active) AS active_ok,
       tally.value('avg_order') = (SELECT avg(amount) FROM orders) AS avg_ok,
       tally.value('revenue_today') = (SELECT sum(amount) FROM orders WHERE status IN ('PAID','SHIPPED')
                                        AND created_at >= date_trunc('day', now(), 'UTC')) AS revenue_ok;
SELECT * FROM tally.groups('orders_per_status') ORDER BY group_key;

-- Writes of every kind keep them current.
INSERT INTO users (email) VALUES ('new@example.com');
UPDATE users SET is_active = false WHERE id <= 10;
INSERT INTO orders (user_id, status, amount) VALUES (1, 'PAID', 100.00), (2, 'PAID', NULL);
UPDATE orders SET status = 'REFUNDED' WHERE id % 5 = 1;
DELETE FROM orders WHERE id % 7 = 0;
SELECT tally.value('total_users'), tally.value('active_users'), tally.value('total_orders');
SELECT * FROM tally.groups('orders_per_status') ORDER BY group_key;
SELECT status, count(*) FROM orders GROUP BY status ORDER BY status;

-- A dashboard is one row; as_of is the transaction time.
SELECT tally.create_dashboard('admin', ARRAY['total_users', 'active_users', 'total_orders',
                                              'orders_per_status', 'revenue_today', 'avg_order'],
                              view_name => 'public.admin_dashboard');
-- (revenue_today depends on the hour the test runs, so it is compared, not printed)
SELECT jsonb_pretty(tally.snapshot('admin') - 'as_of' - 'revenue_today');
SELECT (tally.snapshot('admin') ->> 'revenue_today')::numeric = (SELECT coalesce(sum(amount), 0) FROM orders
         WHERE status IN ('PAID','SHIPPED') AND created_at >= date_trunc('day', now(), 'UTC')) AS revenue_ok;
SELECT (tally.snapshot('admin') ->> 'as_of')::timestamptz = now() AS as_of_is_now;
SELECT id, total_users, active_users, total_orders, orders_per_status, avg_order = (SELECT avg(amount) FROM orders) AS avg_ok
  FROM admin_dashboard;
\d admin_dashboard
SELECT name, metrics, view_name FROM tally.dashboards;

-- Series per bucket; empty buckets are absent.
SELECT count(*) BETWEEN 3 AND 4 AS three_or_four_days,
       sum(value) = (SELECT sum(amount) FROM orders WHERE status IN ('PAID','SHIPPED')) AS sums_match
  FROM tally.series('revenue_today', now() - interval '4 days');

-- DBA jobs.
SELECT tally.compact() > 0 AS folded_something;
SELECT count(*) AS pending FROM tally._delta;
SELECT * FROM tally.verify();
SET client_min_messages = warning;
-- (revenue_today's orders span 3 or 4 UTC days, by the hour the test runs: 3 from 23:00)
SELECT metric, CASE WHEN metric = 'revenue_today' THEN groups BETWEEN 3 AND 4 END AS three_or_four_days,
       CASE WHEN metric <> 'revenue_today' THEN groups END AS groups
  FROM tally.refresh() ORDER BY metric;
RESET client_min_messages;
SELECT * FROM tally.verify('orders_per_status');

-- TRUNCATE empties the counters; rolled back work leaves no trace.
BEGIN;
TRUNCATE orders;
SELECT tally.value('total_orders'), tally.snapshot('admin') -> 'orders_per_status' AS per_status;
ROLLBACK;
SELECT tally.value('total_orders') = (SELECT count(*) FROM orders) AS restored;

-- Dropping.
SELECT tally.drop_dashboard('admin');
SELECT count(*) FROM pg_views WHERE viewname = 'admin_dashboard';
SELECT tally.drop_metric('avg_order');
SELECT count(*) FROM tally.metrics;
SELECT tgname FROM pg_trigger WHERE tgrelid = 'orders'::regclass AND NOT tgisinternal ORDER BY 1;
SELECT tally.drop_metric('total_orders'), tally.drop_metric('orders_per_status'), tally.drop_metric('revenue_today');
SELECT tgname FROM pg_trigger WHERE tgrelid = 'orders'::regclass AND NOT tgisinternal ORDER BY 1;
DROP TABLE orders;
SELECT tally.drop_metric('total_users'), tally.drop_metric('active_users');
DROP TABLE users;
