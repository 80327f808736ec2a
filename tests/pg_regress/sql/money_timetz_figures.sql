-- count_distinct over money and timetz values themselves (0.16.0), kept as the array
-- encoder keeps an element of them: money by its integer amount,
-- timetz by its time and zone ('12:00+01' and '11:00+00' are one instant, two values, as
-- timetz's equality says). min and max over money (0.17.0) by its amount too, their figures
-- money values (as text by lc_monetary, as Postgres writes money); over timetz (0.17.0):
-- ordered_figures.
\set VERBOSITY default
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE DOMAIN price_d AS money CHECK (VALUE >= '0'::money);
CREATE TABLE tills (id serial PRIMARY KEY, kind text, price money, fee price_d, opened timetz);
INSERT INTO tills (kind, price, fee, opened) VALUES
 ('a', '1.00', '0.50', '12:00+01'),
 ('a', '1', '0.5', '11:00+00'),
 ('b', '-0.01', NULL, '12:00:00.000000+01'),
 ('b', NULL, '0', NULL),
 ('c', '92233720368547758.07', '0', '24:00-15:59');
SELECT tally.create_metric('prices_seen', 'tills', 'count_distinct', 'price')->>'column_name';
SELECT tally.create_metric('fees_by_kind', 'tills', 'count_distinct', 'fee', group_by => 'kind')->>'column_name';
SELECT tally.create_metric('openings', 'tills', 'count_distinct', 'opened')->>'column_name';
SELECT tally.create_metric('openings_by_kind', 'tills', 'count_distinct', 'opened', group_by => 'kind')->>'column_name';
SELECT tally.create_metric('halved_prices', 'tills', 'count_distinct', 'price / 2')->>'column_name';
SELECT tally.create_metric('top_price', 'tills', 'max', 'price')->>'column_name';
SELECT tally.create_metric('least_fee_by_kind', 'tills', 'min', 'fee', group_by => 'kind')->>'column_name';
-- A value expression that reads a column but folds to a constant (found by a hostile probe:
-- it was refused as a value too long, its refusal evaluated while the change query was
-- planned), and a filter with a money constant (read under lc_monetary C, whatever the
-- writer's).
SELECT tally.create_metric('price_floor', 'tills', 'max', $$coalesce('1'::money, price)$$,
                           filter => $$price <> '$0.00'::money$$)->>'column_name';
SELECT m.name, t.type_name FROM tally._value_type t JOIN tally._metric m ON m.id = t.metric_id
 WHERE m.source = 'tills'::regclass ORDER BY 1;
-- Rows written under other settings: the same instants.
SET TimeZone = 'Asia/Tokyo';
SET DateStyle = 'SQL, DMY';
INSERT INTO tills (kind, price, fee, opened)
SELECT (ARRAY['a', 'b', 'c'])[1 + g % 3], ((g % 7)::numeric / 100)::money, ((g % 4)::numeric)::money,
       (make_time(g % 3, 0, 0)::text || '+0' || (g % 2))::timetz
  FROM generate_series(1, 500) g;
RESET TimeZone;
RESET DateStyle;
CREATE VIEW tills_compared AS
SELECT x.metric, x.group_key, x.figure, x.live FROM (
  SELECT 'prices_seen' AS metric, NULL AS group_key, tally.value('prices_seen') AS figure,
         (SELECT count(DISTINCT price) FROM tills) AS live
  UNION ALL
  SELECT 'openings', NULL, tally.value('openings'), (SELECT count(DISTINCT opened) FROM tills)
  UNION ALL
  SELECT 'halved_prices', NULL, tally.value('halved_prices'), (SELECT count(DISTINCT price / 2) FROM tills)
  UNION ALL
  SELECT 'fees_by_kind', coalesce(g.group_key, l.kind), g.value, l.n
    FROM tally.groups('fees_by_kind') g
    FULL JOIN (SELECT kind, count(DISTINCT fee) AS n FROM tills GROUP BY kind) l ON l.kind = g.group_key
  UNION ALL
  SELECT 'openings_by_kind', coalesce(g.group_key, l.kind), g.value, l.n
    FROM tally.groups('openings_by_kind') g
    FULL JOIN (SELECT kind, count(DISTINCT opened) AS n FROM tills GROUP BY kind) l ON l.kind = g.group_key) x;
-- min and max, as money values and as their text (the live value's text, in this session).
CREATE VIEW tills_extremes AS
SELECT 'top_price' AS metric, NULL AS group_key, tally.value('top_price', NULL::money) AS figure,
       tally.value('top_price', NULL::text) AS figure_text, (SELECT max(price) FROM tills) AS live
UNION ALL
SELECT 'least_fee_by_kind', coalesce(g.group_key, l.kind), g.value, g.value::text, l.v
  FROM tally.groups('least_fee_by_kind', NULL::money) g
  FULL JOIN (SELECT kind, min(fee)::money AS v FROM tills GROUP BY kind) l ON l.kind = g.group_key
UNION ALL
SELECT 'price_floor', NULL, tally.value('price_floor', NULL::money), tally.value('price_floor', NULL::text),
       (SELECT max(coalesce('1'::money, price)) FROM tills WHERE price <> '$0.00'::money);
SELECT * FROM tills_extremes ORDER BY 1, 2;
SELECT * FROM tills_compared ORDER BY 1, 2;
-- Changes pending, then folded: the same.
DELETE FROM tills WHERE id % 3 = 0;
UPDATE tills SET price = price + '0.01'::money, opened = opened + interval '1 hour' WHERE id % 4 = 0;
SELECT count(*) FILTER (WHERE figure IS DISTINCT FROM live) AS differing FROM tills_compared;
SELECT count(*) FILTER (WHERE figure IS DISTINCT FROM live OR figure_text IS DISTINCT FROM live::text)
       AS differing_extremes FROM tills_extremes;
SELECT tally.compact() >= 0 AS folded;
SELECT count(*) FILTER (WHERE figure IS DISTINCT FROM live) AS differing FROM tills_compared;
-- The extremes deleted: the next ones.
DELETE FROM tills WHERE price = (SELECT max(price) FROM tills) OR fee = (SELECT min(fee) FROM tills);
SELECT count(*) FILTER (WHERE figure IS DISTINCT FROM live OR figure_text IS DISTINCT FROM live::text)
       AS differing_extremes FROM tills_extremes;
-- The snapshot carries to_jsonb's own text of them; the typed view money values.
SELECT tally.create_dashboard('tills_board', ARRAY['top_price', 'least_fee_by_kind'], view_name => 'tills_board_view');
SELECT s -> 'top_price' = to_jsonb((SELECT max(price) FROM tills)) AS snapshot_top,
       s -> 'least_fee_by_kind' = (SELECT jsonb_object_agg(kind, min_fee) FROM
                                     (SELECT kind, min(fee)::money AS min_fee FROM tills GROUP BY kind) l) AS snapshot_least,
       v.top_price = (SELECT max(price) FROM tills) AS view_top,
       pg_typeof(v.top_price) AS view_type
  FROM tally.snapshot('tills_board') s, tills_board_view v;
SELECT tally.drop_dashboard('tills_board');
SELECT * FROM tally.verify();

-- Refused: avg over money, sum and avg over timetz (a sum over money: money_sums).
SELECT tally.create_metric('mean_price', 'tills', 'avg', 'price');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('opening_total', 'tills', 'sum', 'opened');
\echo :LAST_ERROR_SQLSTATE
DROP VIEW tills_compared;
DROP VIEW tills_extremes;
-- A column changed from money to numeric: its counters kept amounts, a numeric is kept
-- otherwise (the table is rewritten and the metric recomputed, or the change refused).
ALTER TABLE tills ALTER COLUMN price TYPE numeric USING price::numeric;
\echo :LAST_ERROR_SQLSTATE

SELECT count(tally.drop_metric(name)) AS dropped FROM tally.metrics WHERE source = 'tills'::regclass;
DROP TABLE tills;
DROP DOMAIN price_d;
RESET client_min_messages;
