-- Several group columns (0.11.0): group_by => ARRAY[...]. A group key is the JSON array of
-- the columns' text forms (NULL as null); tally.snapshot and typed views nest the figures.
\set VERBOSITY default
\set SHOW_CONTEXT never
CREATE TABLE sales (id serial PRIMARY KEY, status text, channel text, vip boolean, amount numeric,
                    at timestamptz DEFAULT now(), c1 int DEFAULT 1, c2 int DEFAULT 2, c3 int DEFAULT 3,
                    c4 int DEFAULT 4, c5 int DEFAULT 5, c6 int DEFAULT 6);
INSERT INTO sales (status, channel, vip, amount)
VALUES ('PAID', 'web', true, 10), ('PAID', 'app', false, 5), ('NEW', 'web', NULL, 1),
       (NULL, 'web', false, 2), ('PAID', NULL, true, 3);
SELECT tally.create_metric('sales_by_status_channel', 'sales', group_by => ARRAY['status', 'channel'])->'group_by';
SELECT tally.create_metric('revenue_by_status_channel_vip', 'sales', 'sum', 'amount',
                           group_by => ARRAY['status', 'channel', 'vip'],
                           bucket => 'day', bucket_column => 'at')->'group_by';
-- Positional arguments before it, as with one column; one column as an array is that column.
SELECT tally.create_metric('largest_by_channel_status', 'sales', 'max', 'amount', NULL,
                           ARRAY['channel', 'status'])->'group_by';
SELECT tally.create_metric('amounts_by_status', 'sales', 'count_distinct', 'amount', group_by => ARRAY['status'])->'group_by';
SELECT tally.create_metric('sales_by_status', 'sales', group_by => 'status')->'group_by';
SELECT name, group_by FROM tally.metrics WHERE source = 'sales'::regclass ORDER BY name;
-- Writes through every path.
INSERT INTO sales (status, channel, vip, amount) VALUES ('PAID', 'web', false, 7);
INSERT INTO sales (status, channel, vip, amount) SELECT 'NEW', 'app', i % 2 = 0, i FROM generate_series(1, 4) i;
UPDATE sales SET channel = 'app' WHERE id = 1;
UPDATE sales SET status = NULL WHERE id = 2;
DELETE FROM sales WHERE id = 3;
SELECT * FROM tally.groups('sales_by_status_channel') ORDER BY 1;
-- Each group column is an element of the key, read back with ->> (NULL as null).
SELECT g.group_key::jsonb ->> 0 AS status, g.group_key::jsonb ->> 1 AS channel, g.value
  FROM tally.groups('sales_by_status_channel') g ORDER BY 1, 2;
SELECT count(*) AS differing FROM (
  (SELECT group_key, value FROM tally.groups('sales_by_status_channel')
   EXCEPT SELECT to_jsonb(ARRAY[status, channel])::text, count(*) FROM sales GROUP BY status, channel)
  UNION ALL
  (SELECT to_jsonb(ARRAY[status, channel])::text, count(*) FROM sales GROUP BY status, channel
   EXCEPT SELECT group_key, value FROM tally.groups('sales_by_status_channel'))) d;
SELECT count(*) AS differing FROM (
  (SELECT group_key, value FROM tally.groups('revenue_by_status_channel_vip')
   EXCEPT SELECT to_jsonb(ARRAY[status, channel, vip::text])::text, coalesce(sum(amount), 0) FROM sales GROUP BY 1)
  UNION ALL
  (SELECT to_jsonb(ARRAY[status, channel, vip::text])::text, coalesce(sum(amount), 0) FROM sales GROUP BY 1
   EXCEPT SELECT group_key, value FROM tally.groups('revenue_by_status_channel_vip'))) d;
SELECT tally.value('largest_by_channel_status') AS largest, tally.value('sales_by_status_channel') AS all_sales;
-- The snapshot and the typed view nest them; one column stays flat.
SELECT tally.create_dashboard('sales', ARRAY['sales_by_status_channel', 'revenue_by_status_channel_vip', 'sales_by_status'], 'sales_board');
SELECT jsonb_pretty(tally.snapshot('sales') -> 'sales_by_status_channel') AS nested;
SELECT tally.snapshot('sales') -> 'revenue_by_status_channel_vip' -> 'PAID' -> 'web' AS paid_web_by_vip,
       tally.snapshot('sales') -> 'sales_by_status' AS flat;
SELECT sales_by_status_channel = tally.snapshot('sales') -> 'sales_by_status_channel' AS view_same FROM sales_board;
SELECT count(*) AS drift FROM tally.verify();
-- Errors.
SELECT tally.create_metric('bad', 'sales', group_by => ARRAY['status', 'status']);
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('bad', 'sales', group_by => ARRAY['status', NULL]);
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('bad', 'sales', group_by => '{}'::text[]);
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('bad', 'sales', group_by => 5);
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('bad', 'sales', group_by => ARRAY['status', 'nope']);
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE sales ADD COLUMN price money;  -- money prints by lc_monetary
SELECT tally.create_metric('bad', 'sales', group_by => ARRAY['status', 'price']);
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('bad', 'sales', group_by => ARRAY['status', 'channel', 'vip', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6']);
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('bad', 'sales', group_by => ARRAY[['status', 'channel'], ['vip', 'c1']]);
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('bad', 'sales', group_by => '[2:3]={status,channel}'::text[]);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS left_behind FROM tally.metrics WHERE name = 'bad';
-- DDL: a group column cannot be dropped.
ALTER TABLE sales DROP COLUMN channel;
\echo :LAST_ERROR_SQLSTATE
SELECT tally.drop_dashboard('sales');
SELECT tally.drop_metric(name) FROM tally.metrics WHERE source = 'sales'::regclass;
DROP TABLE sales;
