-- sum over money (0.18.0): its amounts added, read from the datum (never by a cast to
-- numeric, which scales by the writer's lc_monetary), the figures money values. Postgres
-- has the same sum(money); it has no avg(money), which stays refused. A sum past what money
-- holds fails the read as Postgres' own sum does (22003) and reads as null in the snapshot
-- and the typed view; back in range, it is exact again.
\set VERBOSITY default
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE DOMAIN fee_d AS money CHECK (VALUE >= '0'::money);
CREATE TABLE sales (id serial PRIMARY KEY, channel text, price money, qty int, fee fee_d,
                    sold_at timestamptz);
SELECT tally.create_metric('revenue', 'sales', 'sum', 'price')->>'column_name';
SELECT tally.create_metric('revenue_by_channel', 'sales', 'sum', 'price * qty', group_by => 'channel')->>'column_name';
SELECT tally.create_metric('fees_daily', 'sales', 'sum', 'fee', bucket => 'day', bucket_column => 'sold_at',
                           time_zone => 'Europe/Paris')->>'column_name';
-- A money constant in a value expression and in a filter: read under lc_monetary C.
SELECT tally.create_metric('web_surcharges', 'sales', 'sum', $$'0.25'::money * qty$$,
                           filter => $$channel = 'web' AND price > '$1.00'::money$$)->>'column_name';
SELECT m.name, m.aggregate, t.type_name FROM tally._value_type t JOIN tally._metric m ON m.id = t.metric_id
 WHERE m.source = 'sales'::regclass ORDER BY 1;
-- No rows: a sum of 0, as for every sum metric (Postgres' own sum says NULL).
SELECT tally.value('revenue', NULL::money) AS no_rows, tally.value('revenue', NULL::text) AS no_rows_text;

INSERT INTO sales (channel, price, qty, fee, sold_at) VALUES
 ('web', '1.00', 2, '0.10', '2026-12-05 23:30+00'),
 ('web', '-0.01', 1, '0', '2026-12-05 22:30+00'),
 ('shop', '12.34', NULL, NULL, NULL),
 (NULL, NULL, 3, '0.05', '2026-12-06 12:00+00'),
 ('shop', '92233720368547758.07', 0, '0', '2026-12-06 12:00+00');
-- Rows written under other settings, by COPY too: the same amounts.
SET lc_monetary = 'C.utf8';
SET DateStyle = 'SQL, DMY';
SET TimeZone = 'Asia/Tokyo';
INSERT INTO sales (channel, price, qty, fee, sold_at)
SELECT (ARRAY['web', 'shop', 'app'])[1 + g % 3], ((g % 9)::numeric / 4)::money, g % 5,
       ((g % 4)::numeric / 100)::money, '2026-12-01 00:00+00'::timestamptz + g * interval '47 minutes'
  FROM generate_series(1, 400) g;
COPY sales (channel, price, qty, fee, sold_at) FROM stdin;
app	$3.50	4	$0.02	2026-12-03 10:00:00+00
web	-$2.25	1	\N	\N
\.
RESET lc_monetary;
RESET DateStyle;
RESET TimeZone;

CREATE VIEW sales_compared AS
SELECT x.metric, x.bucket, x.group_key, x.figure, x.live FROM (
  SELECT 'revenue_by_channel' AS metric, NULL::timestamptz AS bucket, coalesce(g.group_key, l.channel) AS group_key,
         g.value AS figure, l.v AS live
    FROM tally.groups('revenue_by_channel', NULL::money) g
    FULL JOIN (SELECT channel, coalesce(sum(price * qty), '0'::money) AS v FROM sales GROUP BY channel) l
      ON coalesce(l.channel, '(none)') = coalesce(g.group_key, '(none)')
  UNION ALL
  SELECT 'fees_daily', coalesce(s.bucket_start, l.day), s.group_key, s.value, l.v
    FROM tally.series('fees_daily', '2026-01-01', '2027-01-01', NULL::money) s
    FULL JOIN (SELECT date_trunc('day', sold_at, 'Europe/Paris') AS day, coalesce(sum(fee), '0'::money) AS v
                 FROM sales WHERE sold_at IS NOT NULL GROUP BY 1) l ON l.day = s.bucket_start
  UNION ALL
  SELECT 'web_surcharges', NULL, NULL, tally.value('web_surcharges', NULL::money),
         (SELECT coalesce(sum('0.25'::money * qty), '0'::money) FROM sales WHERE channel = 'web' AND price > '$1.00'::money)) x;
SELECT count(*) FILTER (WHERE figure IS DISTINCT FROM live) AS differing, count(*) AS compared FROM sales_compared;

-- The total holds 92233720368547758.07 and more: past what money holds. The read fails as
-- Postgres' sum does; the snapshot and the typed view read null, the other figures stay.
SELECT sum(price) FROM sales;
\echo :LAST_ERROR_SQLSTATE
SELECT tally.value('revenue', NULL::money);
\echo :LAST_ERROR_SQLSTATE
SELECT tally.value('revenue', NULL::text);
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_dashboard('sales_board', ARRAY['revenue', 'web_surcharges'], view_name => 'sales_board_view');
SELECT s -> 'revenue' AS snapshot_revenue,
       s -> 'web_surcharges' = to_jsonb(tally.value('web_surcharges', NULL::money)) AS snapshot_surcharges,
       v.revenue IS NULL AS view_null, pg_typeof(v.revenue) AS view_type,
       v.web_surcharges = tally.value('web_surcharges', NULL::money) AS view_surcharges
  FROM tally.snapshot('sales_board') s, sales_board_view v;
-- The largest price deleted: in range, exact, pending and then folded.
DELETE FROM sales WHERE price = '92233720368547758.07'::money;
SELECT tally.value('revenue', NULL::money) = (SELECT sum(price) FROM sales) AS exact,
       tally.value('revenue', NULL::text) = (SELECT sum(price)::text FROM sales) AS exact_text;
SELECT tally.compact() >= 0 AS folded;
SELECT tally.value('revenue', NULL::money) = (SELECT sum(price) FROM sales) AS exact;
SELECT s -> 'revenue' = to_jsonb((SELECT sum(price) FROM sales)) AS snapshot_revenue,
       v.revenue = (SELECT sum(price) FROM sales) AS view_revenue
  FROM tally.snapshot('sales_board') s, sales_board_view v;

-- Updates, a rolled-back savepoint, deletes: still exact.
BEGIN;
UPDATE sales SET price = price + '0.01'::money, fee = fee + '0.01'::money WHERE id % 4 = 0;
SAVEPOINT s1;
UPDATE sales SET price = '1000000'::money;
ROLLBACK TO SAVEPOINT s1;
DELETE FROM sales WHERE id % 5 = 0;
COMMIT;
SELECT count(*) FILTER (WHERE figure IS DISTINCT FROM live) AS differing FROM sales_compared;
SELECT tally.value('revenue', NULL::money) = (SELECT sum(price) FROM sales) AS exact;
SELECT tally.compact() >= 0 AS folded;
SELECT count(*) FILTER (WHERE figure IS DISTINCT FROM live) AS differing FROM sales_compared;
SELECT * FROM tally.verify();
-- A money figure reads as money, its text or a text type; never as a number.
SELECT tally.value('revenue');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.value('revenue', NULL::numeric);
\echo :LAST_ERROR_SQLSTATE
-- TRUNCATE: 0 again.
TRUNCATE sales;
SELECT tally.value('revenue', NULL::money) AS truncated;
SELECT tally.drop_dashboard('sales_board');

-- Refused: avg over money (Postgres has none), sum over timetz.
SELECT tally.create_metric('mean_price', 'sales', 'avg', 'price');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('mean_fee', 'sales', 'avg', 'fee');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('opening_total', 'sales', 'sum', $$'12:00+01'::timetz + make_interval(mins => qty)$$);
\echo :LAST_ERROR_SQLSTATE
DROP VIEW sales_compared;
SELECT count(tally.drop_metric(name)) AS dropped FROM tally.metrics WHERE source = 'sales'::regclass;
DROP TABLE sales;
DROP DOMAIN fee_d;
RESET client_min_messages;
