-- count_distinct over the built-in ranges (0.14.0): int4range, int8range, numrange,
-- daterange, tsrange, tstzrange, and domains over them. Two ranges are one value when
-- Postgres' range equality says so: every empty range is one; a discrete range's bounds are
-- canonical ([1,3] is [1,4)); numrange's bounds equal as numerics ([1.0,2) is [1,2)); a
-- tstzrange's as instants. A range type a role creates (its own operator class could
-- equate bounds otherwise) and sum and avg over ranges are refused (min and max are taken
-- since 0.17.0: ordered_figures). count_distinct over multiranges since 0.18.0 (min and max
-- since 0.19.0: multirange_extremes).
\set VERBOSITY default
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE DOMAIN stay AS daterange CHECK (NOT isempty(VALUE));
CREATE TABLE bookings (id serial PRIMARY KEY, room text, seats int4range, big int8range, price numrange,
                       nights stay, local_slot tsrange, slot tstzrange);
INSERT INTO bookings (room, seats, big, price, nights, local_slot, slot) VALUES
 ('a', '[1,3]', '[1,3]', '[1.0,2)', '[2026-01-01,2026-01-03)', '[2026-01-01 10:00,2026-01-01 11:00)',
       '[2026-01-01 10:00+00,2026-01-01 11:00+00)'),
 ('a', '[1,4)', '(0,3]', '[1,2.00)', '[2026-01-01,2026-01-02]', '[2026-01-01 10:00,2026-01-01 11:00]',
       '[2026-01-01 11:00+01,2026-01-01 12:00+01)'),
 ('b', 'empty', '[5,5)', '(1,1)', '[2026-01-01,)', '(,2026-01-01 10:00)', '(,)'),
 ('b', '(,5)', '(,)', '[NaN,NaN]', '(,2026-01-01)', '[-infinity,infinity)', '[-infinity,infinity]'),
 ('b', '[-2147483648,0)', '[1,)', '(1.5,2.50]', NULL, '[2026-01-01 10:00,2026-01-01 10:00]', 'empty'),
 ('c', NULL, NULL, NULL, NULL, NULL, NULL);
SELECT count(tally.create_metric(c || '_seen', 'bookings', 'count_distinct', c)) AS created
  FROM unnest(ARRAY['seats', 'big', 'price', 'nights', 'local_slot', 'slot']) c;
SELECT tally.create_metric('slots_by_room', 'bookings', 'count_distinct', 'slot', group_by => 'room')->>'column_name';
SELECT tally.create_metric('seat_spans', 'bookings', 'count_distinct', 'int4range(lower(seats), upper(seats) + id % 2)')
       ->>'column_name';

CREATE VIEW compared AS
SELECT x.metric, tally.value(x.metric || '_seen') AS figure, x.live
  FROM (SELECT 'seats' AS metric, count(DISTINCT seats) AS live FROM bookings
        UNION ALL SELECT 'big', count(DISTINCT big) FROM bookings
        UNION ALL SELECT 'price', count(DISTINCT price) FROM bookings
        UNION ALL SELECT 'nights', count(DISTINCT nights) FROM bookings
        UNION ALL SELECT 'local_slot', count(DISTINCT local_slot) FROM bookings
        UNION ALL SELECT 'slot', count(DISTINCT slot) FROM bookings) x
UNION ALL
SELECT 'seat_spans', tally.value('seat_spans'),
       (SELECT count(DISTINCT int4range(lower(seats), upper(seats) + id % 2)) FROM bookings)
UNION ALL
SELECT 'slots_by_room ' || e.room, g.value, e.n
  FROM (SELECT room, count(DISTINCT slot) AS n FROM bookings GROUP BY room) e
  FULL JOIN tally.groups('slots_by_room') g ON g.group_key = e.room;
SELECT metric, figure, live, figure IS NOT DISTINCT FROM live AS exact FROM compared ORDER BY metric;

-- Updated, deleted, a savepoint rolled back, COPY.
UPDATE bookings SET price = '[1,2)' WHERE price = '(1.5,2.50]';
DELETE FROM bookings WHERE seats = 'empty';
BEGIN;
SAVEPOINT s;
INSERT INTO bookings (room, seats) VALUES ('d', '[100,200)');
ROLLBACK TO SAVEPOINT s;
COPY bookings (room, seats, price, slot) FROM stdin;
d	[7,9)	[3.10,4)	[2026-02-01 00:00+00,2026-02-02 00:00+00)
d	[7,8]	[3.1,4.0)	[2026-02-01 01:00+01,2026-02-02 01:00+01)
\.
COMMIT;
SELECT count(*) FILTER (WHERE figure IS DISTINCT FROM live) AS differing FROM compared;

-- 3000 random ranges with random bounds, inclusivity and numeric scales.
SELECT setseed(0.3);
INSERT INTO bookings (room, seats, price)
SELECT (ARRAY['a', 'b', 'c'])[1 + g % 3],
       int4range(lo, lo + (random() * 3)::int, (ARRAY['[)', '[]', '(]', '()'])[1 + (random() * 3)::int]),
       numrange(round((random() * 2)::numeric, (random() * 2)::int), round((2 + random())::numeric, (random() * 2)::int),
                (ARRAY['[)', '[]', '(]', '()'])[1 + (random() * 3)::int])
  FROM (SELECT g, (random() * 5)::int AS lo FROM generate_series(1, 3000) g) s;
SELECT count(*) FILTER (WHERE figure IS DISTINCT FROM live) AS differing,
       (SELECT count(DISTINCT price) < count(DISTINCT price::text) FROM bookings) AS equal_ranges_written_apart
  FROM compared;
SELECT * FROM tally.verify() WHERE metric LIKE '%_seen' OR metric IN ('slots_by_room', 'seat_spans');

-- count_distinct over the built-in multiranges (0.18.0): equal when their ranges are, as
-- Postgres merges and sorts them ({[1,3),[3,5)} is {[1,5)}; {[1.0,2)} is {[1,2)}); a column,
-- a domain, an expression; the empty multirange is one value.
CREATE DOMAIN stays AS datemultirange;
CREATE TABLE calendars (id serial PRIMARY KEY, owner text, busy int4multirange, spend nummultirange,
                        days stays, slots tstzmultirange);
INSERT INTO calendars (owner, busy, spend, days, slots) VALUES
 ('a', '{[1,3),[3,5)}', '{[1.0,2)}', '{[2026-01-01,2026-01-03)}', '{[2026-01-01 10:00+00,2026-01-01 11:00+00)}'),
 ('a', '{[1,5)}', '{[1,2.00)}', '{[2026-01-01,2026-01-02]}', '{[2026-01-01 11:00+01,2026-01-01 12:00+01)}'),
 ('b', '{}', '{[NaN,NaN]}', '{}', '{(,)}'),
 ('b', '{[1,2),[5,6)}', '{(1,2],(3,)}', NULL, '{}'),
 ('b', '{[5,6),[1,2)}', '{(1,2],[3.5,)}', '{[2026-01-01,)}', NULL),
 ('c', NULL, NULL, NULL, NULL);
SELECT tally.create_metric('busy_kinds', 'calendars', 'count_distinct', 'busy')->>'column_name';
SELECT tally.create_metric('spend_kinds', 'calendars', 'count_distinct', 'spend', group_by => 'owner')->>'column_name';
SELECT tally.create_metric('days_kinds', 'calendars', 'count_distinct', 'days')->>'column_name';
SELECT tally.create_metric('slots_kinds', 'calendars', 'count_distinct', 'slots')->>'column_name';
SELECT tally.create_metric('spans_kinds', 'calendars', 'count_distinct', 'int4multirange(int4range(id % 3, 4), int4range(5, 6))')->>'column_name';
SELECT m.name, t.type_name FROM tally._value_type t JOIN tally._metric m ON m.id = t.metric_id
 WHERE m.source = 'calendars'::regclass ORDER BY 1;
CREATE VIEW calendars_compared AS
SELECT 'busy' AS metric, NULL AS owner, tally.value('busy_kinds') AS figure, (SELECT count(DISTINCT busy) FROM calendars) AS live
UNION ALL SELECT 'days', NULL, tally.value('days_kinds'), (SELECT count(DISTINCT days) FROM calendars)
UNION ALL SELECT 'slots', NULL, tally.value('slots_kinds'), (SELECT count(DISTINCT slots) FROM calendars)
UNION ALL SELECT 'spans', NULL, tally.value('spans_kinds'),
                 (SELECT count(DISTINCT int4multirange(int4range(id % 3, 4), int4range(5, 6))) FROM calendars)
UNION ALL
SELECT 'spend', coalesce(g.group_key, e.owner), g.value, e.n
  FROM (SELECT owner, count(DISTINCT spend) AS n FROM calendars GROUP BY owner) e
  FULL JOIN tally.groups('spend_kinds') g ON g.group_key = e.owner;
SELECT metric, owner, figure, live, figure IS NOT DISTINCT FROM live AS exact FROM calendars_compared ORDER BY 1, 2;
UPDATE calendars SET busy = busy + '{[10,12)}' WHERE owner = 'a';
DELETE FROM calendars WHERE spend = '{(1,2],(3,)}';
INSERT INTO calendars (owner, busy, spend)
SELECT (ARRAY['a', 'b'])[1 + g % 2], int4multirange(int4range(g % 4, g % 4 + 2), int4range(g % 7 + 3, g % 7 + 4)),
       nummultirange(numrange(round((g % 5)::numeric / 2, g % 3), 3))
  FROM generate_series(1, 500) g;
SELECT count(*) FILTER (WHERE figure IS DISTINCT FROM live) AS differing FROM calendars_compared;
SELECT tally.compact() >= 0 AS folded;
SELECT count(*) FILTER (WHERE figure IS DISTINCT FROM live) AS differing FROM calendars_compared;
SELECT * FROM tally.verify() WHERE metric IN ('busy_kinds', 'spend_kinds', 'days_kinds', 'slots_kinds', 'spans_kinds');
-- Hand calls: a multirange is keyed, another type refused.
SELECT tally._tracked_range('{[1,2)}'::int4multirange) = tally._tracked_range('{[1,2)}'::int4multirange) AS same_key;
SELECT tally._tracked_range(1);
\echo :LAST_ERROR_SQLSTATE

-- Refused: sum over ranges; a range type created by a role; sum over multiranges (min and
-- max over them since 0.19.0: multirange_extremes).
SELECT tally.create_metric('seat_sum', 'bookings', 'sum', 'seats');
\echo :LAST_ERROR_SQLSTATE
CREATE TYPE textrange AS RANGE (subtype = text, collation = "C");
CREATE TABLE spans (id int, r textrange);
SELECT tally.create_metric('spans_seen', 'spans', 'count_distinct', 'r');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('multi_sum', 'calendars', 'sum', 'busy');
\echo :LAST_ERROR_SQLSTATE

SELECT count(tally.drop_metric(name)) AS dropped FROM tally.metrics
 WHERE name LIKE '%_seen' OR name IN ('slots_by_room', 'seat_spans');
DROP VIEW compared;
DROP VIEW calendars_compared;
SELECT count(tally.drop_metric(name)) AS dropped FROM tally.metrics WHERE source = 'calendars'::regclass;
DROP TABLE bookings, spans, calendars;
DROP DOMAIN stays;
DROP TYPE textrange;
DROP DOMAIN stay;
