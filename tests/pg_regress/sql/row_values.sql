-- count_distinct over a row of values (0.23.0): "distinct user-days", '(user_id, day)',
-- counted as count(DISTINCT (user_id, day)) counts: two rows are one value when each field
-- is equal by its type's equality, NULL equal to NULL (a row of NULLs is a value, as
-- count(DISTINCT) counts it). Each field is checked as a value expression of its own and
-- stored canonical, in ROW(...). The table's owner is no superuser; another role writes
-- under hostile settings. Every figure is compared with Postgres' own count(DISTINCT).
\set VERBOSITY default
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE ROLE rv_owner;
CREATE ROLE rv_writer;
GRANT CREATE ON SCHEMA public TO rv_owner;
CREATE SCHEMA rv_trap AUTHORIZATION rv_writer;
SET ROLE rv_owner;
CREATE DOMAIN rv_positive AS int CHECK (VALUE > 0);
CREATE TYPE rv_pair AS (u int, c text);
CREATE TYPE rv_mood AS ENUM ('ok', 'sad');
CREATE FUNCTION rv_owners_day(timestamptz) RETURNS date IMMUTABLE LANGUAGE sql
    AS $$ SELECT ($1 AT TIME ZONE 'UTC')::date $$;
CREATE TABLE rv_events (id serial PRIMARY KEY, user_id int, at timestamptz, channel text,
                        amount numeric, flag boolean, tag varchar(10) COLLATE "C",
                        lvl rv_positive, ip inet, mood rv_mood, tags text[]);
GRANT INSERT, UPDATE, DELETE, SELECT ON rv_events TO rv_writer;
GRANT USAGE ON SEQUENCE rv_events_id_seq TO rv_writer;
INSERT INTO rv_events (user_id, at, channel, amount, flag, tag, lvl, ip) VALUES
    (1, '2026-12-01 10:00+00', 'web', 1.0, true, 'a', 1, '10.0.0.1'),
    (1, '2026-12-01 23:00+00', 'web', 1.00, true, 'a', 1, '10.0.0.1/32'),
    (1, '2026-12-02 01:00+00', 'app', NULL, NULL, NULL, NULL, NULL),
    (2, '2026-12-01 10:00+00', NULL, NULL, NULL, NULL, NULL, NULL),
    (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
-- Each stored as ROW(...) of its fields' canonical texts; a column alone is read as a column
-- is (lvl, of the owner's domain, by its base type).
SELECT tally.create_metric('rv_user_days', 'rv_events', 'count_distinct',
                           $$(user_id, (at AT TIME ZONE 'UTC')::date)$$)->>'column_name' AS kept_as;
SELECT tally.create_metric('rv_by_channel', 'rv_events', 'count_distinct',
                           'ROW(user_id, flag)', group_by => 'channel')->>'column_name' AS kept_as;
SELECT tally.create_metric('rv_daily', 'rv_events', 'count_distinct', '(user_id, channel)',
                           bucket => 'day', bucket_column => 'at', time_zone => 'UTC') IS NOT NULL AS created;
SELECT tally.create_metric('rv_mixed', 'rv_events', 'count_distinct',
                           '(amount, flag, tag, lvl, ip)')->>'column_name' AS kept_as;
SELECT tally.create_metric('rv_one', 'rv_events', 'count_distinct', 'ROW(channel)')->>'column_name' AS kept_as;
SELECT tally.create_metric('rv_filtered', 'rv_events', 'count_distinct', '(user_id, channel)',
                           filter => 'amount IS NOT NULL') IS NOT NULL AS created;
-- Refused: min, max and sum of a row (42804); a field of a type a row's key does not hold
-- (a nested row, an array, a jsonb, a named composite: 42804; an enum is taken since 0.24.0,
-- enum_keys); the row as a named composite
-- type; a field that is not immutable, or of the owner's own domain, or calls the owner's own
-- function (the rules of any value expression: 42501 for what is not built in); a row of
-- constants (22023); more than one expression (42601).
SELECT tally.create_metric('bad', 'rv_events', 'min', '(user_id, channel)');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('bad', 'rv_events', 'sum', '(user_id, amount)');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('bad', 'rv_events', 'count_distinct', '(user_id, (channel, flag))');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('bad', 'rv_events', 'count_distinct', '(user_id, tags)');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('bad', 'rv_events', 'count_distinct', '(user_id, to_jsonb(channel))');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('bad', 'rv_events', 'count_distinct', 'ROW(user_id, channel)::public.rv_pair');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('bad', 'rv_events', 'count_distinct', '(user_id, at::date)');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('bad', 'rv_events', 'count_distinct', '(user_id, public.rv_owners_day(at))');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('bad', 'rv_events', 'count_distinct', '(user_id, user_id::public.rv_positive)');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('bad', 'rv_events', 'count_distinct', 'ROW(1, 2)');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('bad', 'rv_events', 'count_distinct', '(user_id, channel) FROM rv_events; SELECT (1');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- name (and xid, cid, aclitem) as a column alone: name's expressions are refused alone.
SET ROLE rv_owner;
CREATE TABLE rv_names (id int, n name, t tid);
INSERT INTO rv_names VALUES (1, 'a', '(0,1)'), (2, 'a', '(0,1)'), (3, 'b', NULL), (4, NULL, NULL);
SELECT tally.create_metric('rv_names', 'rv_names', 'count_distinct', '(n, t)')->>'column_name' AS kept_as;
SELECT tally.create_metric('bad', 'rv_names', 'count_distinct', '(n::text::name, t)');
\echo :LAST_ERROR_SQLSTATE
DELETE FROM rv_names WHERE id = 1;
INSERT INTO rv_names VALUES (5, 'c', '(1,1)');
SELECT tally.value('rv_names') AS names, (SELECT count(DISTINCT (n, t)) FROM rv_names) AS expected;
SELECT tally.drop_metric('rv_names');
DROP TABLE rv_names;
RESET ROLE;
-- The encoder by hand: only an anonymous row of fields it keys.
SELECT tally._tracked_record(1);
\echo :LAST_ERROR_SQLSTATE
SELECT tally._tracked_record(ROW(1, '{}'::jsonb));
\echo :LAST_ERROR_SQLSTATE
SELECT tally._tracked_record(ROW(1, 'x')::rv_pair);
\echo :LAST_ERROR_SQLSTATE
SELECT tally._tracked_record(ROW(1, NULL::int)) = tally._tracked_record(ROW(1, NULL::int)) AS nulls_equal,
       tally._tracked_record(ROW(1.0, 'a'::text)) = tally._tracked_record(ROW(1.000, 'a'::text)) AS numerics_equal,
       tally._tracked_record(ROW('a'::text, 'bc'::text)) <> tally._tracked_record(ROW('ab'::text, 'c'::text)) AS fields_apart;

CREATE FUNCTION rv_check() RETURNS TABLE (metric text, exact boolean) LANGUAGE sql AS $$
    SELECT 'rv_user_days', tally.value('rv_user_days') = (SELECT count(DISTINCT (user_id, (at AT TIME ZONE 'UTC')::date)) FROM rv_events)
    UNION ALL SELECT 'rv_mixed', tally.value('rv_mixed') = (SELECT count(DISTINCT (amount, flag, tag, lvl, ip)) FROM rv_events)
    UNION ALL SELECT 'rv_one', tally.value('rv_one') = (SELECT count(DISTINCT ROW(channel)) FROM rv_events)
    UNION ALL SELECT 'rv_filtered', tally.value('rv_filtered') = (SELECT count(DISTINCT (user_id, channel)) FROM rv_events WHERE amount IS NOT NULL)
    UNION ALL SELECT 'rv_by_channel', (SELECT coalesce(bool_and(g.value IS NOT DISTINCT FROM l.n), true)
                                         FROM (SELECT * FROM tally.groups('rv_by_channel') WHERE value <> 0) g
                                         FULL JOIN (SELECT channel, count(DISTINCT (user_id, flag)) AS n FROM rv_events GROUP BY channel) l
                                           ON coalesce(l.channel, '(none)') = coalesce(g.group_key, '(none)'))
    UNION ALL SELECT 'rv_daily', (SELECT coalesce(bool_and(s.value IS NOT DISTINCT FROM l.n), true)
                                    FROM (SELECT * FROM tally.series('rv_daily', '2000-01-01', '2100-01-01') WHERE value <> 0) s
                                    FULL JOIN (SELECT date_trunc('day', at, 'UTC') AS bucket, count(DISTINCT (user_id, channel)) AS n
                                                 FROM rv_events WHERE at IS NOT NULL GROUP BY 1) l
                                      ON l.bucket = s.bucket_start)
$$;
SELECT tally.value('rv_user_days') AS user_days, tally.value('rv_mixed') AS mixed, tally.value('rv_one') AS one;
SELECT * FROM rv_check() WHERE exact IS NOT TRUE;

-- Written by another role under hostile settings (a search_path of its own schema first, a
-- German DateStyle, another time zone), pending and folded; the single-row path too.
SET ROLE rv_writer;
SET search_path = rv_trap, pg_temp, public;
SET datestyle = 'German';
SET TimeZone = 'Pacific/Kiritimati';
SET extra_float_digits = -15;
INSERT INTO public.rv_events (user_id, at, channel, amount, flag, tag, lvl, ip)
VALUES (3, '2026-12-03 23:30+00', 'web', 2.50, false, 'b', 2, '::1');
INSERT INTO public.rv_events (user_id, at, channel, amount, flag, tag, lvl, ip) VALUES
    (3, '2026-12-04 00:30+00', 'web', 2.5, false, 'b', 2, '::1/128'),
    (4, '2026-12-03 12:00+00', 'app', NULL, true, repeat('x', 10), 3, NULL),
    (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
COPY public.rv_events (user_id, at, channel, amount, flag, tag, lvl, ip) FROM stdin;
5	2026-12-05 10:00:00+00	web	7	t	c	5	192.168.0.1
5	2026-12-05 11:00:00+00	web	7.000	t	c	5	192.168.0.1
\N	\N	\N	\N	\N	\N	\N	\N
\.
RESET ALL;
RESET ROLE;
SELECT * FROM rv_check() WHERE exact IS NOT TRUE;
SELECT tally.compact() >= 0 AS compacted;
SELECT * FROM rv_check() WHERE exact IS NOT TRUE;
-- Single-row statements on the SQL path (direct writes off) and the direct one, rows with a
-- NULL field and of NULLs only: each a value, as count(DISTINCT) counts it (the SQL path once
-- tested the row with IS NOT NULL, false for a row with a NULL field: the differential test
-- found it).
SET tally.direct_writes = off;
INSERT INTO rv_events (user_id, at, channel, flag) VALUES (6, NULL, 'web', NULL);
INSERT INTO rv_events (user_id, at, channel, flag) VALUES (NULL, '2026-12-09 10:00+00', NULL, true);
UPDATE rv_events SET flag = false WHERE user_id = 6;
SELECT * FROM rv_check() WHERE exact IS NOT TRUE;
DELETE FROM rv_events WHERE user_id IS NULL AND at = '2026-12-09 10:00+00';
SELECT * FROM rv_check() WHERE exact IS NOT TRUE;
RESET tally.direct_writes;
INSERT INTO rv_events (user_id, at, channel, flag) VALUES (7, NULL, NULL, NULL);
DELETE FROM rv_events WHERE user_id = 6;
SELECT * FROM rv_check() WHERE exact IS NOT TRUE;
SELECT tally.value('rv_user_days') AS user_days, tally.value('rv_one') AS one;
-- A session that ran a parallel query keeps its new row types in a registry shared with its
-- workers, whose descriptors are not reference-counted: its writes still count (found by a
-- hostile probe: each failed with XX000 "tupdesc reference ... is not owned by resource
-- owner"). A new session, so that the rows' shapes are new to it.
\c -
SET client_min_messages = warning;
SELECT set_config(CASE WHEN current_setting('server_version_num')::int >= 160000
                       THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END, 'on', false) AS parallel;
SELECT count(*) > 0 AS scanned FROM rv_events;
RESET ALL;
INSERT INTO rv_events (user_id, at, channel, amount, flag, tag, lvl, ip)
VALUES (8, '2026-12-08 08:00+00', 'web', 3, true, 'z', 1, '10.9.9.9');
INSERT INTO rv_events (user_id, at, channel, amount, flag, tag, lvl, ip) VALUES
    (8, '2026-12-08 09:00+00', 'app', 3.0, true, 'z', 1, '10.9.9.9'), (9, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
SELECT * FROM rv_check() WHERE exact IS NOT TRUE;
-- One of two equal rows deleted (the other stays), then the last: rolled back, a savepoint.
DELETE FROM rv_events WHERE user_id = 1 AND at = '2026-12-01 10:00+00';
SELECT * FROM rv_check() WHERE exact IS NOT TRUE;
BEGIN;
DELETE FROM rv_events WHERE user_id = 5;
SAVEPOINT s;
UPDATE rv_events SET channel = 'other' WHERE user_id = 3;
SELECT * FROM rv_check() WHERE exact IS NOT TRUE;
ROLLBACK TO SAVEPOINT s;
SELECT * FROM rv_check() WHERE exact IS NOT TRUE;
ROLLBACK;
UPDATE rv_events SET flag = NOT flag WHERE user_id = 3;
SELECT * FROM rv_check() WHERE exact IS NOT TRUE;
-- 400 random rows (a fixed seed) over few users, days and channels, NULLs among them.
SELECT setseed(0.23);
INSERT INTO rv_events (user_id, at, channel, amount, flag, tag, lvl, ip)
SELECT CASE WHEN random() < 0.1 THEN NULL ELSE (random() * 8)::int END,
       '2026-12-01'::timestamptz + random() * interval '5 days',
       (ARRAY['web', 'app', NULL])[1 + (random() * 2)::int],
       CASE WHEN random() < 0.2 THEN NULL ELSE round((random() * 3)::numeric, 1) END,
       CASE WHEN random() < 0.2 THEN NULL ELSE random() < 0.5 END,
       (ARRAY['a', 'b', NULL])[1 + (random() * 2)::int],
       1 + (random() * 2)::int,
       ('10.0.0.' || (random() * 3)::int)::inet
  FROM generate_series(1, 400);
SELECT * FROM rv_check() WHERE exact IS NOT TRUE;
DELETE FROM rv_events WHERE id % 3 = 0;
SELECT * FROM rv_check() WHERE exact IS NOT TRUE;
SELECT tally.compact() >= 0 AS compacted;
SELECT * FROM rv_check() WHERE exact IS NOT TRUE;
SELECT count(*) AS drift FROM tally.verify() WHERE metric LIKE 'rv\_%';
SELECT tally.value('rv_user_days') = (SELECT count(DISTINCT (user_id, (at AT TIME ZONE 'UTC')::date)) FROM rv_events)
       AND tally.value('rv_user_days') > 20 AS user_days_exact;

-- The table's own DDL: a read column widened is recounted, one changed to a type a row's
-- key does not hold is refused (2BP01), a column the rows do not read is added freely.
SET ROLE rv_owner;
ALTER TABLE rv_events ALTER COLUMN user_id TYPE bigint;
ALTER TABLE rv_events ADD COLUMN note text;
ALTER TABLE rv_events ALTER COLUMN flag TYPE boolean[] USING ARRAY[flag];
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT * FROM rv_check() WHERE exact IS NOT TRUE;
TRUNCATE rv_events;
SELECT * FROM rv_check() WHERE exact IS NOT TRUE;

SELECT count(tally.drop_metric(name)) AS dropped FROM tally.metrics WHERE source = 'rv_events'::regclass;
DROP FUNCTION rv_check();
DROP TABLE rv_events;
DROP FUNCTION rv_owners_day(timestamptz);
DROP TYPE rv_mood;
DROP TYPE rv_pair;
DROP DOMAIN rv_positive;
DROP SCHEMA rv_trap;
REVOKE CREATE ON SCHEMA public FROM rv_owner;
DROP ROLE rv_owner;
DROP ROLE rv_writer;
