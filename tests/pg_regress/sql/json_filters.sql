-- SQL/JSON query functions in filters (PostgreSQL 17: JSON_VALUE, JSON_QUERY, JSON_EXISTS).
-- RETURNING a type whose text input depends on session settings (date, timestamps, time,
-- interval) is refused (42P17), as a cast to it would be: Postgres' own immutability check
-- looks only at the JSON path, and the figure came to depend on the writer's DateStyle and
-- TimeZone (the single-row path and the statement path counted the same row differently).
-- RETURNING int, numeric, text, boolean or jsonb is immutable, and counts exactly whatever
-- the writer's settings.
SET client_min_messages = warning;
\set VERBOSITY default
\set SHOW_CONTEXT never
SELECT current_setting('server_version_num')::int >= 170000 AS has_json_value \gset
\if :has_json_value
CREATE TABLE json_t (id int, j jsonb);
SELECT tally.create_metric('json_m', 'json_t', filter => $$JSON_VALUE(j, '$.d' RETURNING date) > '2024-01-15'$$);
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('json_m', 'json_t', filter => $$JSON_VALUE(j, '$.d' RETURNING timestamptz) > '2024-01-15 10:00+00'$$);
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('json_m', 'json_t', filter => $$JSON_QUERY(j, '$.i' RETURNING interval) > '1 hour'$$);
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('json_m', 'json_t', filter => $$JSON_VALUE(j, '$.t' RETURNING time) IS NOT NULL$$);
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('json_m', 'json_t', filter => $$JSON_EXISTS(j, '$.a') AND JSON_VALUE(j, '$.d' RETURNING date) IS NULL$$);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS metrics_left FROM tally.metrics WHERE name = 'json_m';
SELECT tally.create_metric('json_n', 'json_t', filter => $$JSON_VALUE(j, '$.n' RETURNING int) > 5$$) IS NOT NULL AS created;
SELECT tally.create_metric('json_s', 'json_t', filter => $$JSON_VALUE(j, '$.s') = 'a' AND JSON_EXISTS(j, '$.n')$$) IS NOT NULL AS created;
SET TimeZone = 'Asia/Tokyo';
SET DateStyle = 'SQL, DMY';
INSERT INTO json_t VALUES (1, '{"n": 7, "s": "a"}');
INSERT INTO json_t VALUES (2, '{"n": 3, "s": "a"}'), (3, '{"n": "9", "s": "b"}'), (4, '{"s": "a"}');
UPDATE json_t SET j = '{"n": 6, "s": "a"}' WHERE id = 2;
RESET TimeZone;
RESET DateStyle;
SELECT tally.value('json_n') AS n, (SELECT count(*) FROM json_t WHERE JSON_VALUE(j, '$.n' RETURNING int) > 5) AS live_n,
       tally.value('json_s') AS s, (SELECT count(*) FROM json_t WHERE JSON_VALUE(j, '$.s') = 'a' AND JSON_EXISTS(j, '$.n')) AS live_s;
SELECT count(*) AS drift FROM tally.verify();
-- A date or time inside the JSON value is written as text under DateStyle and TimeZone
-- (PASSING, .datetime()): immutable to Postgres, settings-dependent in fact. Such a filter is
-- accepted, and counted under the fixed settings (TimeZone UTC, DateStyle ISO) on both write
-- paths, whatever the writer's (before 0.10.0 the single-row path used the writer's).
CREATE TABLE json_ts (id int, ts timestamptz, j jsonb DEFAULT '{}');
SELECT tally.create_metric('json_utc', 'json_ts', filter => $$JSON_VALUE(j, '$x' PASSING ts AS x RETURNING text) LIKE '% 12:00:00+00'$$) IS NOT NULL AS created;
SET TimeZone = 'Asia/Kathmandu';
SET DateStyle = 'SQL, DMY';
INSERT INTO json_ts (id, ts) VALUES (1, '2024-03-10 12:00+00');
INSERT INTO json_ts (id, ts) VALUES (2, '2024-03-10 12:00+00'), (3, '2024-03-10 12:00+00');
INSERT INTO json_ts (id, ts) VALUES (4, '2024-03-10 12:00+00');
UPDATE json_ts SET ts = ts + interval '1 hour' WHERE id = 2;
-- The live aggregate under the fixed settings: the three rows still at 12:00 UTC (one-row
-- statements wrote two of them, and moved the fourth away).
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, MDY';
SELECT tally.value('json_utc') AS counted,
       (SELECT count(*) FROM json_ts WHERE JSON_VALUE(j, '$x' PASSING ts AS x RETURNING text) LIKE '% 12:00:00+00') AS live_in_utc;
RESET TimeZone;
RESET DateStyle;
SELECT count(*) AS drift FROM tally.verify();
SELECT tally.drop_metric(m) FROM unnest(ARRAY['json_n', 'json_s', 'json_utc']) m;
DROP TABLE json_t, json_ts;
\else
\echo 'no JSON_VALUE before PostgreSQL 17'
\endif
