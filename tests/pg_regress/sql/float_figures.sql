-- real and double precision (0.13.0): min, max and count_distinct, ordered and equated as
-- Postgres does (-0 equal to 0, and kept as 0: Postgres' own min of 0 and -0 is either, by
-- the rows' order, so figures are compared as floats; NaN equal to NaN and above Infinity);
-- the figures read back as the same floats, in Postgres' own text under any
-- extra_float_digits; the typed reads,
-- the snapshot and the typed view; sum and avg refused with the reason.
\set VERBOSITY default
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE DOMAIN score AS real;
CREATE TABLE ratings (id serial PRIMARY KEY, kind text, stars score, lat float8);
INSERT INTO ratings (kind, stars, lat) VALUES
 ('a', 1.1, 52.520008),
 ('a', -0.0, '-0'),
 ('a', 4.5, 0),
 ('b', 'NaN', 'NaN'),
 ('b', 3.4e38, '-Infinity'),
 ('b', NULL, 1e300),
 ('c', 1e-5, 5e-324),
 ('c', 123456, 'Infinity'),
 ('c', 1234567, 1.2345678901234568e17);
SELECT tally.create_metric('least_stars', 'ratings', 'min', 'stars', group_by => 'kind')->>'column_name';
SELECT tally.create_metric('top_stars', 'ratings', 'max', 'stars')->>'column_name';
SELECT tally.create_metric('star_values', 'ratings', 'count_distinct', 'stars')->>'column_name';
SELECT tally.create_metric('least_lat', 'ratings', 'min', 'lat')->>'column_name';
SELECT tally.create_metric('top_lat', 'ratings', 'max', 'lat', group_by => 'kind')->>'column_name';
SELECT tally.create_metric('lat_values', 'ratings', 'count_distinct', 'lat', group_by => 'kind')->>'column_name';
SELECT tally.create_metric('top_negated_lat', 'ratings', 'max', $$nullif(-lat, 'NaN')$$)->>'column_name';

-- Each read against Postgres' own aggregates, and the figure's text against Postgres' text
-- of the same float.
CREATE VIEW expected AS
SELECT (SELECT max(stars) FROM ratings) AS top_stars,
       (SELECT count(DISTINCT stars) FROM ratings) AS star_values,
       (SELECT min(lat) FROM ratings) AS least_lat,
       (SELECT max(nullif(-lat, 'NaN')) FROM ratings) AS top_negated_lat;
CREATE VIEW compared AS
SELECT tally.value('top_stars', NULL::real) IS NOT DISTINCT FROM e.top_stars AS top_stars,
       tally.value('top_stars', NULL::text) IS NOT DISTINCT FROM e.top_stars::text AS top_stars_text,
       tally.value('star_values') = e.star_values AS star_values,
       tally.value('least_lat', NULL::float8) IS NOT DISTINCT FROM e.least_lat AS least_lat,
       tally.value('least_lat', NULL::text) IS NOT DISTINCT FROM e.least_lat::text AS least_lat_text,
       tally.value('top_negated_lat', NULL::float8) IS NOT DISTINCT FROM e.top_negated_lat AS top_negated_lat,
       tally.value('top_negated_lat', NULL::text) IS NOT DISTINCT FROM e.top_negated_lat::text AS top_negated_lat_text,
       (SELECT pg_catalog.array_agg((g.group_key, g.value) ORDER BY g.group_key)
          FROM tally.groups('least_stars', NULL::real) g)
       IS NOT DISTINCT FROM (SELECT pg_catalog.array_agg((kind, m::real) ORDER BY kind)
                               FROM (SELECT kind, min(stars) AS m FROM ratings GROUP BY kind) t) AS least_stars_groups,
       (SELECT pg_catalog.array_agg((g.group_key, g.value) ORDER BY g.group_key)
          FROM tally.groups('top_lat', NULL::float8) g)
       IS NOT DISTINCT FROM (SELECT pg_catalog.array_agg((kind, m) ORDER BY kind)
                               FROM (SELECT kind, max(lat) AS m FROM ratings GROUP BY kind) t) AS top_lat_groups,
       (SELECT pg_catalog.array_agg(g.group_key || '=' || g.value ORDER BY g.group_key) FROM tally.groups('lat_values') g)
       IS NOT DISTINCT FROM (SELECT pg_catalog.array_agg(kind || '=' || n ORDER BY kind)
                               FROM (SELECT kind, count(DISTINCT lat) AS n FROM ratings GROUP BY kind) t) AS lat_values_groups
  FROM expected e;
SELECT * FROM compared;
SELECT tally.value('top_stars', NULL::real) AS top_stars, tally.value('star_values') AS star_values,
       tally.value('least_lat', NULL::float8) AS least_lat, tally.value('top_negated_lat', NULL::float8) AS top_negated_lat;
SELECT * FROM tally.groups('least_stars', NULL::real) ORDER BY group_key;
SELECT * FROM tally.groups('top_lat', NULL::text) ORDER BY group_key;
SELECT * FROM tally.groups('lat_values') ORDER BY group_key;
-- The text is the shortest that reads back as the float, whatever extra_float_digits says.
SET extra_float_digits = -15;
SELECT tally.value('top_stars', NULL::text) AS top_stars, tally.value('top_negated_lat', NULL::text) AS top_negated_lat,
       tally.value('least_lat', NULL::float8) = '-Infinity' AS least_lat_exact;
RESET extra_float_digits;

-- The extremes deleted and updated away, in one-row and several-row statements; -0 and 0,
-- NaN and NaN counted once, NaN gone from the real column; a savepoint rolled back; COPY.
DELETE FROM ratings WHERE stars = 'NaN';
UPDATE ratings SET lat = 0 WHERE lat = 'Infinity';
UPDATE ratings SET stars = stars / 2 WHERE kind = 'c';
INSERT INTO ratings (kind, stars, lat) VALUES ('d', 0, '-0'), ('d', '-0', 'NaN'), ('d', 2.5, 'NaN');
BEGIN;
SAVEPOINT s;
INSERT INTO ratings (kind, stars, lat) VALUES ('a', 'Infinity', '-Infinity');
ROLLBACK TO SAVEPOINT s;
COPY ratings (kind, stars, lat) FROM stdin;
c	2.5	-1e-310
c	\N	1.7976931348623157e308
\.
COMMIT;
SELECT * FROM compared;
SELECT tally.value('star_values') AS star_values, tally.value('top_stars', NULL::real) AS top_stars,
       tally.value('top_negated_lat', NULL::float8) AS top_negated_lat;
SELECT * FROM tally.groups('lat_values') ORDER BY group_key;
-- The minimums too: -Infinity deleted.
DELETE FROM ratings WHERE lat = '-Infinity';
SELECT * FROM compared;
SELECT tally.value('least_lat', NULL::float8) AS least_lat;
SELECT * FROM tally.verify() WHERE metric IN ('least_stars', 'top_stars', 'star_values', 'least_lat', 'top_lat',
                                              'lat_values', 'top_negated_lat');

-- The snapshot carries numbers (NaN and the infinities as strings, as to_jsonb writes them);
-- the typed view's columns have the figures' types and equal the typed reads.
SELECT tally.create_dashboard('ratings_board', ARRAY['top_stars', 'star_values', 'least_lat', 'top_lat', 'top_negated_lat'],
                              'ratings_board_view');
SELECT tally.snapshot('ratings_board') - 'as_of' AS snapshot;
SELECT top_stars, star_values, least_lat, top_lat, top_negated_lat FROM ratings_board_view;
SELECT v.top_stars IS NOT DISTINCT FROM tally.value('top_stars', NULL::real) AS top_stars,
       v.least_lat IS NOT DISTINCT FROM tally.value('least_lat', NULL::float8) AS least_lat,
       v.top_negated_lat IS NOT DISTINCT FROM tally.value('top_negated_lat', NULL::float8) AS top_negated_lat
  FROM ratings_board_view v;
SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
 WHERE a.attrelid = 'ratings_board_view'::regclass AND a.attnum > 2 ORDER BY a.attnum;

-- Refused: a float summed or averaged (the hint says why); a real's figure read as double
-- precision (its text would read as another double) or as numeric.
SELECT tally.create_metric('lat_sum', 'ratings', 'sum', 'lat');
SELECT tally.create_metric('star_avg', 'ratings', 'avg', 'stars');
SELECT tally.value('top_stars', NULL::float8);
SELECT tally.value('top_stars');

-- The texts and snapshot numbers of 3000 floats across their range (and some hard cases:
-- ties between equally short texts, 2^53 + 1, the extremes) each equal Postgres' own
-- (::text, to_jsonb); then a session whose extra_float_digits shortens Postgres' own text
-- still reads the whole figure.
SELECT setseed(0.5);
CREATE TABLE samples (k text, d float8, r real);
INSERT INTO samples SELECT i::text, (random() - 0.5) * 10 ^ (floor(random() * 600) - 300),
                           ((random() - 0.5) * 10 ^ (floor(random() * 70) - 35))::real
  FROM generate_series(1, 2000) i;
INSERT INTO samples SELECT (10000 + i)::text, round((random() * 10 ^ (i % 20))::numeric, i % 7)::float8,
                           round((random() * 10 ^ (i % 12))::numeric, i % 5)::real
  FROM generate_series(1, 1000) i;
INSERT INTO samples VALUES ('tie', 9045319096066.5625, 2203184.25), ('2^53+1', 9007199254740993, 16777217),
                           ('largest', 1.7976931348623157e308, 3.4028235e38), ('least', 5e-324, 1e-45),
                           ('e15', 1e15, 1e6), ('e-5', 1e-5, 1e-5), ('nan', 'NaN', 'NaN'), ('inf', '-Infinity', 'Infinity');
SELECT tally.create_metric('sample_d', 'samples', 'max', 'd', group_by => 'k')->>'column_name';
SELECT tally.create_metric('sample_r', 'samples', 'min', 'r', group_by => 'k')->>'column_name';
SELECT tally.create_dashboard('samples_board', ARRAY['sample_d', 'sample_r']);
SELECT count(*) AS groups,
       count(*) FILTER (WHERE g.value IS DISTINCT FROM s.d::text) AS double_texts_differing
  FROM tally.groups('sample_d', NULL::text) g JOIN samples s ON s.k = g.group_key;
SELECT count(*) AS groups,
       count(*) FILTER (WHERE g.value IS DISTINCT FROM s.r::text) AS real_texts_differing
  FROM tally.groups('sample_r', NULL::text) g JOIN samples s ON s.k = g.group_key;
SELECT count(*) AS groups,
       count(*) FILTER (WHERE e.value IS DISTINCT FROM to_jsonb(s.d)) AS double_numbers_differing
  FROM jsonb_each(tally.snapshot('samples_board') -> 'sample_d') e JOIN samples s ON s.k = e.key;
SELECT count(*) AS groups,
       count(*) FILTER (WHERE e.value IS DISTINCT FROM to_jsonb(s.r)) AS real_numbers_differing
  FROM jsonb_each(tally.snapshot('samples_board') -> 'sample_r') e JOIN samples s ON s.k = e.key;
SET extra_float_digits = 0;
SELECT g.value AS tie_text, g.value::float8 = 9045319096066.5625 AS exact, 9045319096066.5625::float8::text AS postgres_text
  FROM tally.groups('sample_d', NULL::text) g WHERE g.group_key = 'tie';
RESET extra_float_digits;
SELECT tally.drop_dashboard('samples_board');
SELECT count(tally.drop_metric(name)) AS dropped FROM tally.metrics WHERE source = 'samples'::regclass;
DROP TABLE samples;

DROP VIEW compared;
DROP VIEW expected;
SELECT tally.drop_dashboard('ratings_board');
SELECT count(tally.drop_metric(name)) AS dropped FROM tally.metrics WHERE source = 'ratings'::regclass;
DROP TABLE ratings;
DROP DOMAIN score;
RESET client_min_messages;
