-- min and max over time with time zone and the built-in ranges (0.17.0): each
-- value kept by a key in its type's own order (timetz: the instant in UTC, then the zone;
-- a range: empty first, then by lower bound, then by upper bound, as range_cmp orders),
-- read back as a value of its type. Postgres has no max(anyrange): the live figure here is
-- ORDER BY ... LIMIT 1, which sorts by the range type's btree operator class.
\set VERBOSITY default
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE DOMAIN stay_d AS daterange CHECK (NOT isempty(VALUE));
CREATE TABLE bookings (id serial PRIMARY KEY, desk text, opens timetz, booked tstzrange,
                       seats int4range, ids int8range, nights stay_d, slot tsrange, lo int, hi int);
INSERT INTO bookings (desk, opens, booked, seats, ids, nights, slot, lo, hi) VALUES
 ('a', '12:00+01', '[2026-12-01 10:00+00,2026-12-01 12:00+00)', '[1,5)', '[1,)', '[2026-01-01,2026-01-05)', '(2026-01-01,2026-01-02]', 1, 4),
 ('a', '11:00+00', '(,2026-12-01 12:00+00]', 'empty', '(,0)', '[2026-01-01,)', '[2026-01-01,infinity)', 5, 5),
 ('b', '24:00-15:59', '[-infinity,infinity]', '(,)', '[-9223372036854775808,9223372036854775807)', NULL, 'empty', NULL, 3),
 ('b', NULL, NULL, NULL, NULL, '[2025-12-31,2026-01-01)', NULL, 2, 9),
 ('c', '00:00+15:59', 'empty', '[3,3]', '[5,6)', '[infinity,)', '[2026-01-01 00:00:00.000001,2026-01-01 00:00:00.000002]', -3, 0),
 -- Bounds at one value, inclusive and not: an exclusive lower bound sorts after an
 -- inclusive one, an exclusive upper bound before an inclusive one.
 ('c', '01:00+01', '[2026-12-01 10:00+00,2026-12-01 12:00+00]', '[1,5)', '[5,7)', NULL, '(2026-01-01 00:00:00.000001,2026-01-01 00:00:00.000002]', 0, 0);
SELECT tally.create_metric('latest_opening', 'bookings', 'max', 'opens')->>'column_name';
SELECT tally.create_metric('earliest_opening_by_desk', 'bookings', 'min', 'opens', group_by => 'desk')->>'column_name';
SELECT tally.create_metric('last_booking', 'bookings', 'max', 'booked')->>'column_name';
SELECT tally.create_metric('first_booking', 'bookings', 'min', 'booked')->>'column_name';
SELECT tally.create_metric('top_seats_by_desk', 'bookings', 'max', 'seats', group_by => 'desk')->>'column_name';
SELECT tally.create_metric('low_ids', 'bookings', 'min', 'ids')->>'column_name';
SELECT tally.create_metric('last_nights', 'bookings', 'max', 'nights')->>'column_name';
SELECT tally.create_metric('first_slot', 'bookings', 'min', 'slot')->>'column_name';
SELECT tally.create_metric('widest_made', 'bookings', 'max', 'int4range(lo, hi)')->>'column_name';
SELECT m.name, t.type_name FROM tally._value_type t JOIN tally._metric m ON m.id = t.metric_id
 WHERE m.source = 'bookings'::regclass ORDER BY 1;
-- Rows written under other settings: the same values.
SET TimeZone = 'America/St_Johns';
SET DateStyle = 'SQL, DMY';
SET IntervalStyle = 'sql_standard';
INSERT INTO bookings (desk, opens, booked, seats, ids, nights, slot, lo, hi)
SELECT (ARRAY['a', 'b', 'c'])[1 + g % 3],
       (make_time(g % 24, g % 60, 0)::text || CASE WHEN g % 2 = 0 THEN '+0' ELSE '-0' END || (g % 10))::timetz,
       tstzrange(timestamptz '2026-06-01 00:00+00' + g * interval '37 minutes',
                 CASE WHEN g % 11 = 0 THEN NULL ELSE timestamptz '2026-06-01 00:00+00' + g * interval '41 minutes' END,
                 (ARRAY['[)', '(]', '[]', '()'])[1 + g % 4]),
       CASE WHEN g % 13 = 0 THEN 'empty' ELSE int4range(g % 17, g % 17 + 1 + g % 5) END,
       int8range(CASE WHEN g % 7 = 0 THEN NULL ELSE g * 1000000000000 END, g * 1000000000000 + g % 9),
       daterange(date '2026-02-01' + g % 40, date '2026-02-01' + g % 40 + 1 + g % 3),
       tsrange(timestamp '2026-01-01' + g * interval '1 second', timestamp '2026-01-01' + g * interval '2 seconds', '(]'),
       g % 19, g % 19 + g % 4
  FROM generate_series(1, 400) g;
RESET TimeZone;
RESET DateStyle;
RESET IntervalStyle;
-- Each figure against the live value (NULLs sort last in DESC: skipped, as min and max
-- skip them).
CREATE VIEW bookings_compared AS
SELECT x.metric, x.group_key, x.figure, x.live FROM (
  SELECT 'latest_opening' AS metric, NULL AS group_key, tally.value('latest_opening', NULL::timetz)::text AS figure,
         (SELECT max(opens) FROM bookings)::text AS live
  UNION ALL
  SELECT 'earliest_opening_by_desk', coalesce(g.group_key, l.desk), g.value::text, l.v::text
    FROM tally.groups('earliest_opening_by_desk', NULL::timetz) g
    FULL JOIN (SELECT desk, min(opens) AS v FROM bookings GROUP BY desk) l ON l.desk = g.group_key
  UNION ALL
  SELECT 'last_booking', NULL, tally.value('last_booking', NULL::tstzrange)::text,
         (SELECT booked FROM bookings WHERE booked IS NOT NULL ORDER BY booked DESC LIMIT 1)::text
  UNION ALL
  SELECT 'first_booking', NULL, tally.value('first_booking', NULL::tstzrange)::text,
         (SELECT booked FROM bookings WHERE booked IS NOT NULL ORDER BY booked LIMIT 1)::text
  UNION ALL
  SELECT 'top_seats_by_desk', coalesce(g.group_key, l.desk), g.value::text, l.v::text
    FROM tally.groups('top_seats_by_desk', NULL::int4range) g
    FULL JOIN (SELECT DISTINCT ON (desk) desk, seats AS v FROM bookings WHERE seats IS NOT NULL
                ORDER BY desk, seats DESC) l ON l.desk = g.group_key
  UNION ALL
  SELECT 'low_ids', NULL, tally.value('low_ids', NULL::int8range)::text,
         (SELECT ids FROM bookings WHERE ids IS NOT NULL ORDER BY ids LIMIT 1)::text
  UNION ALL
  SELECT 'last_nights', NULL, tally.value('last_nights', NULL::daterange)::text,
         (SELECT nights FROM bookings WHERE nights IS NOT NULL ORDER BY nights DESC LIMIT 1)::text
  UNION ALL
  SELECT 'first_slot', NULL, tally.value('first_slot', NULL::tsrange)::text,
         (SELECT slot FROM bookings WHERE slot IS NOT NULL ORDER BY slot LIMIT 1)::text
  UNION ALL
  SELECT 'widest_made', NULL, tally.value('widest_made', NULL::int4range)::text,
         (SELECT int4range(lo, hi) FROM bookings WHERE int4range(lo, hi) IS NOT NULL ORDER BY 1 DESC LIMIT 1)::text) x;
SELECT * FROM bookings_compared ORDER BY 1, 2;
-- Read under other settings: the same values (their text follows the reader's DateStyle
-- and TimeZone, as Postgres' own does).
SET TimeZone = 'Asia/Kolkata';
SET DateStyle = 'German';
SELECT count(*) FILTER (WHERE figure IS DISTINCT FROM live) AS differing FROM bookings_compared;
RESET TimeZone;
RESET DateStyle;
-- The snapshot carries each as a string that its type reads back under any setting (ISO
-- 8601, a timestamptz in UTC); the typed view has each figure's own type.
SELECT tally.create_dashboard('desk_board', ARRAY['latest_opening', 'first_booking', 'low_ids',
       'last_nights', 'first_slot', 'earliest_opening_by_desk'], view_name => 'desk_board_view');
SELECT key, value FROM jsonb_each(tally.snapshot('desk_board') - 'as_of') ORDER BY 1;
SELECT attname, atttypid::regtype FROM pg_attribute
 WHERE attrelid = 'desk_board_view'::regclass AND attnum > 0 ORDER BY attnum;
SELECT v.latest_opening = tally.value('latest_opening', NULL::timetz) AS view_opening,
       v.first_booking = tally.value('first_booking', NULL::tstzrange) AS view_booking,
       v.last_nights = tally.value('last_nights', NULL::daterange) AS view_nights,
       pg_typeof(tally.value('last_nights', NULL::stay_d)) AS as_domain
  FROM desk_board_view v;
-- Changes pending, then folded: the same, with the extremes deleted and updated away.
DELETE FROM bookings WHERE booked = (SELECT booked FROM bookings WHERE booked IS NOT NULL ORDER BY booked DESC LIMIT 1)
                        OR seats = '(,)' OR opens = (SELECT max(opens) FROM bookings);
UPDATE bookings SET seats = 'empty', opens = opens - interval '1 hour', slot = NULL WHERE id % 4 = 0;
UPDATE bookings SET nights = '[2027-01-01,2027-01-02)' WHERE id = 7;
-- The empty ranges (every range's minimum) gone: the minimum is the next one.
UPDATE bookings SET booked = NULLIF(booked, 'empty'), ids = NULLIF(ids, 'empty'), slot = NULLIF(slot, 'empty')
 WHERE isempty(booked) OR isempty(ids) OR isempty(slot);
SELECT count(*) FILTER (WHERE figure IS DISTINCT FROM live) AS differing FROM bookings_compared;
SELECT tally.compact() >= 0 AS folded;
DELETE FROM bookings WHERE id = 7;
SELECT count(*) FILTER (WHERE figure IS DISTINCT FROM live) AS differing FROM bookings_compared;
-- Then those with no lower bound: the minimum is the least finite one.
DELETE FROM bookings WHERE lower_inf(booked) OR lower_inf(ids);
SELECT * FROM bookings_compared ORDER BY 1, 2;
COPY bookings (desk, opens, booked, seats, ids, nights, slot, lo, hi) FROM stdin;
z	23:59:59.999999-15:59	[2099-01-01 00:00+00,)	[1000,1001)	(,)	[9999-12-31,)	(infinity,)	100	200
\.
SELECT count(*) FILTER (WHERE figure IS DISTINCT FROM live) AS differing FROM bookings_compared;
SELECT * FROM tally.verify();

-- A timetz whose zone is past ±15:59:59 (timezone(interval, timetz) makes one; no text of it
-- is read back) is refused in the writer's statement, which changes nothing (found by a
-- hostile probe: it made every typed read of the metric fail).
INSERT INTO bookings (desk, opens) VALUES ('z', timezone('100 hours'::interval, '12:00+00'::timetz));
\echo :LAST_ERROR_SQLSTATE
-- The least zone there is (i32's least: it has no i32 absolute value).
INSERT INTO bookings (desk, opens) VALUES ('z', timezone('2147483648 seconds'::interval, '12:00+00'::timetz));
\echo :LAST_ERROR_SQLSTATE
\set QUIET off
UPDATE bookings SET opens = timezone('-16 hours'::interval, opens) WHERE opens IS NOT NULL AND id % 5 = 1;
\echo :LAST_ERROR_SQLSTATE
UPDATE bookings SET opens = timezone('15:59:59'::interval, opens) WHERE opens IS NOT NULL AND id % 5 = 1;
\set QUIET on
SELECT count(*) FILTER (WHERE figure IS DISTINCT FROM live) AS differing FROM bookings_compared;
-- The encoder called by hand with another type: a user error (only the change queries call
-- it, always with a type it keys).
SELECT tally._tracked_ordered('m', 7);
\echo :LAST_ERROR_SQLSTATE
SELECT tally._tracked_ordered('m', '{"(1,2)"}'::point[]);
\echo :LAST_ERROR_SQLSTATE
SELECT tally._tracked_range('{1,2}'::int[]);
\echo :LAST_ERROR_SQLSTATE
-- A value expression that reads no column: refused, not planned.
SELECT tally.create_metric('constant_opening', 'bookings', 'max', $$'12:00+01'::timetz$$);
\echo :LAST_ERROR_SQLSTATE

-- Refused: sum and avg over ranges and timetz; a figure read as another type.
SELECT tally.create_metric('seat_total', 'bookings', 'sum', 'seats');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('mean_opening', 'bookings', 'avg', 'opens');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.value('low_ids', NULL::int4range);
\echo :LAST_ERROR_SQLSTATE
SELECT tally.value('latest_opening', NULL::time);
\echo :LAST_ERROR_SQLSTATE

DROP VIEW bookings_compared;
SELECT tally.drop_dashboard('desk_board');
SELECT count(tally.drop_metric(name)) AS dropped FROM tally.metrics WHERE source = 'bookings'::regclass;
DROP TABLE bookings;
DROP DOMAIN stay_d;

-- numrange: its bounds kept as bytes in numeric's order, of any numeric (values equal at
-- other scales one value, NaN above Infinity). Compared as numranges: a figure writes each
-- bound in its shortest form (1.5 for 1.50).
CREATE TABLE quotes (id serial PRIMARY KEY, desk text, amounts numrange);
INSERT INTO quotes (desk, amounts) VALUES
 ('a', '[1.50,2)'), ('a', '[1.5,2]'), ('a', '(1.5,2)'), ('b', 'empty'), ('b', '(,0)'),
 ('b', '[-0.001,0.001]'), ('c', '[NaN,NaN]'), ('c', '[Infinity,)'),
 ('c', '[12345678901234567890.123456789,)'), ('c', NULL), ('a', '[-Infinity,-1e-20)');
SELECT tally.create_metric('top_amounts', 'quotes', 'max', 'amounts')->>'column_name';
SELECT tally.create_metric('least_amounts_by_desk', 'quotes', 'min', 'amounts', group_by => 'desk')->>'column_name';
INSERT INTO quotes (desk, amounts)
SELECT (ARRAY['a', 'b', 'c'])[1 + g % 3],
       numrange(round((g % 37 - 18) / 7.0, g % 4), round((g % 37 - 18) / 7.0, g % 4) + g % 5,
                (ARRAY['[)', '(]', '[]', '()'])[1 + g % 4])
  FROM generate_series(1, 300) g;
CREATE VIEW quotes_compared AS
SELECT 'top_amounts' AS metric, NULL AS group_key, tally.value('top_amounts', NULL::numrange) AS figure,
       (SELECT amounts FROM quotes WHERE amounts IS NOT NULL ORDER BY amounts DESC LIMIT 1) AS live
UNION ALL
SELECT 'least_amounts_by_desk', coalesce(g.group_key, l.desk), g.value, l.v
  FROM tally.groups('least_amounts_by_desk', NULL::numrange) g
  FULL JOIN (SELECT DISTINCT ON (desk) desk, amounts AS v FROM quotes WHERE amounts IS NOT NULL
              ORDER BY desk, amounts) l ON l.desk = g.group_key;
SELECT * FROM quotes_compared ORDER BY 1, 2;
-- The extremes deleted, pending and folded.
DELETE FROM quotes WHERE isempty(amounts) OR lower_inf(amounts) OR upper(amounts) = 'NaN';
SELECT * FROM quotes_compared ORDER BY 1, 2;
SELECT tally.compact() >= 0 AS folded;
DELETE FROM quotes WHERE lower(amounts) IN ('Infinity', '12345678901234567890.123456789', '-Infinity', '-0.001');
UPDATE quotes SET amounts = numrange(lower(amounts) - 100, upper(amounts)) WHERE id % 50 = 0;
SELECT * FROM quotes_compared ORDER BY 1, 2;
SELECT tally.value('top_amounts', NULL::text) AS top_text;
SELECT * FROM tally.verify('top_amounts');
-- A numrange whose key would pass 600 bytes: refused in the writer's statement.
INSERT INTO quotes (desk, amounts) VALUES ('z', numrange(0, 10::numeric ^ 700 - 1));
\echo :LAST_ERROR_SQLSTATE
-- count_distinct over numrange stays (0.14.0).
SELECT tally.create_metric('amounts_seen', 'quotes', 'count_distinct', 'amounts')->>'column_name';
DROP VIEW quotes_compared;
SELECT count(tally.drop_metric(name)) AS dropped FROM tally.metrics WHERE source = 'quotes'::regclass;
DROP TABLE quotes;
RESET client_min_messages;
