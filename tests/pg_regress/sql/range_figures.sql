-- count_distinct over the built-in ranges (0.14.0): int4range, int8range, numrange,
-- daterange, tsrange, tstzrange, and domains over them. Two ranges are one value when
-- Postgres' range equality says so: every empty range is one; a discrete range's bounds are
-- canonical ([1,3] is [1,4)); numrange's bounds equal as numerics ([1.0,2) is [1,2)); a
-- tstzrange's as instants. A range type a role creates (its own operator class could
-- equate bounds otherwise) and sum and avg over ranges are refused (min and max are taken
-- since 0.17.0: ordered_figures).
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

-- Refused: sum over ranges; a range type created by a role; multiranges.
SELECT tally.create_metric('seat_sum', 'bookings', 'sum', 'seats');
\echo :LAST_ERROR_SQLSTATE
CREATE TYPE textrange AS RANGE (subtype = text, collation = "C");
CREATE TABLE spans (id int, r textrange);
SELECT tally.create_metric('spans_seen', 'spans', 'count_distinct', 'r');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('multi_seen', 'bookings', 'count_distinct', 'int4multirange(seats)');
\echo :LAST_ERROR_SQLSTATE

SELECT count(tally.drop_metric(name)) AS dropped FROM tally.metrics
 WHERE name LIKE '%_seen' OR name IN ('slots_by_room', 'seat_spans');
DROP VIEW compared;
DROP TABLE bookings, spans;
DROP TYPE textrange;
DROP DOMAIN stay;
