-- Typed figures (0.12.0): min, max and count_distinct over timestamptz, timestamp, date,
-- time, interval, uuid, boolean and text; sum and avg over interval; the typed reads
-- tally.value/groups/series(..., as_type); the snapshot's jsonb and the typed view in the
-- figures' type.
\set VERBOSITY default
\set SHOW_CONTEXT never
CREATE TABLE events (id serial PRIMARY KEY, kind text, at timestamptz, local_at timestamp, day date,
                     clock time, took interval, session uuid, ok boolean, email text,
                     version text COLLATE "C", code char(4), label varchar(20));
INSERT INTO events (kind, at, local_at, day, clock, took, session, ok, email, version, code, label) VALUES
 ('a', '2026-12-05 10:00:00.5+00', '2026-12-05 10:00', '2026-01-31', '10:00', '1 mon',
  '00000000-0000-0000-0000-000000000001', true, 'ann@example.com', '1.10', 'ab', 'x'),
 ('a', '2026-12-05 11:00+00', '2026-12-05 11:00', '2026-02-01', '11:00', '30 days',
  'ffffffff-0000-0000-0000-000000000002', false, 'bob@example.com', '1.9', 'ab  ', 'y'),
 ('b', '2026-12-04 09:00+00', '2026-12-04 09:00', NULL, '09:30', '-2 hours',
  '80000000-0000-0000-0000-000000000003', NULL, 'ann@example.com', '2.0', 'c', NULL),
 ('b', NULL, NULL, '2025-12-31', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
SELECT tally.create_metric('last_at', 'events', 'max', 'at');
SELECT tally.create_metric('first_at_by_kind', 'events', 'min', 'at', group_by => 'kind')->>'column_name';
SELECT tally.create_metric('last_local', 'events', 'max', 'local_at')->>'column_name';
SELECT tally.create_metric('first_day', 'events', 'min', 'day')->>'column_name';
SELECT tally.create_metric('latest_clock', 'events', 'max', 'clock')->>'column_name';
SELECT tally.create_metric('longest', 'events', 'max', 'took')->>'column_name';
SELECT tally.create_metric('shortest', 'events', 'min', 'took')->>'column_name';
SELECT tally.create_metric('durations', 'events', 'count_distinct', 'took')->>'column_name';
SELECT tally.create_metric('top_session', 'events', 'max', 'session')->>'column_name';
SELECT tally.create_metric('sessions', 'events', 'count_distinct', 'session')->>'column_name';
SELECT tally.create_metric('any_ok', 'events', 'max', 'ok')->>'column_name';
SELECT tally.create_metric('emails', 'events', 'count_distinct', 'email')->>'column_name';
SELECT tally.create_metric('emails_by_kind', 'events', 'count_distinct', 'email', group_by => 'kind')->>'column_name';
SELECT tally.create_metric('latest_version', 'events', 'max', 'version')->>'column_name';
SELECT tally.create_metric('first_email', 'events', 'min', 'email COLLATE "C"')->>'column_name';
SELECT tally.create_metric('codes', 'events', 'count_distinct', 'code')->>'column_name';
SELECT tally.create_metric('labels', 'events', 'count_distinct', 'label')->>'column_name';
SELECT tally.create_metric('last_day_seen', 'events', 'max', $$coalesce(day, '2000-01-01')$$)->>'column_name';
SELECT tally.create_metric('total_took', 'events', 'sum', 'took')->>'column_name';
SELECT tally.create_metric('avg_took', 'events', 'avg', 'took')->>'column_name';
SELECT tally.create_metric('avg_took_by_kind', 'events', 'avg', 'took', group_by => 'kind')->>'column_name';
SELECT tally.create_metric('avg_wait', 'events', 'avg', $$at - '2026-12-01 00:00+00'::timestamptz$$)->>'column_name';
SELECT tally.create_metric('all_events', 'events')->>'aggregate';
SELECT name, aggregate, column_name FROM tally.metrics WHERE source = 'events'::regclass ORDER BY name;
SELECT metric_id IS NOT NULL AS stored, type_name FROM tally._value_type ORDER BY metric_id;

-- Each figure equals the live aggregate, read in its own type.
CREATE FUNCTION check_figures() RETURNS TABLE (metric text, exact boolean) LANGUAGE sql AS $$
    VALUES ('last_at', tally.value('last_at', NULL::timestamptz) IS NOT DISTINCT FROM (SELECT max(at) FROM events)),
           ('last_local', tally.value('last_local', NULL::timestamp) IS NOT DISTINCT FROM (SELECT max(local_at) FROM events)),
           ('first_day', tally.value('first_day', NULL::date) IS NOT DISTINCT FROM (SELECT min(day) FROM events)),
           ('latest_clock', tally.value('latest_clock', NULL::time) IS NOT DISTINCT FROM (SELECT max(clock) FROM events)),
           ('longest', tally.value('longest', NULL::interval) IS NOT DISTINCT FROM (SELECT max(took) FROM events)),
           ('shortest', tally.value('shortest', NULL::interval) IS NOT DISTINCT FROM (SELECT min(took) FROM events)),
           ('durations', tally.value('durations') IS NOT DISTINCT FROM (SELECT count(DISTINCT took) FROM events)),
           ('top_session', tally.value('top_session', NULL::uuid) IS NOT DISTINCT FROM
                           (SELECT session FROM events WHERE session IS NOT NULL ORDER BY session DESC LIMIT 1)),
           ('sessions', tally.value('sessions') IS NOT DISTINCT FROM (SELECT count(DISTINCT session) FROM events)),
           ('any_ok', tally.value('any_ok', NULL::boolean) IS NOT DISTINCT FROM (SELECT bool_or(ok) FROM events)),
           ('emails', tally.value('emails') IS NOT DISTINCT FROM (SELECT count(DISTINCT email) FROM events)),
           ('latest_version', tally.value('latest_version', NULL::text) IS NOT DISTINCT FROM (SELECT max(version) FROM events)),
           ('first_email', tally.value('first_email', NULL::text) IS NOT DISTINCT FROM (SELECT min(email COLLATE "C") FROM events)),
           ('codes', tally.value('codes') IS NOT DISTINCT FROM (SELECT count(DISTINCT code) FROM events)),
           ('labels', tally.value('labels') IS NOT DISTINCT FROM (SELECT count(DISTINCT label) FROM events)),
           ('last_day_seen', tally.value('last_day_seen', NULL::date) IS NOT DISTINCT FROM (SELECT max(coalesce(day, '2000-01-01')) FROM events)),
           -- Sums and averages of intervals keep months, days and time apart, as Postgres'
           -- do: compared as text, not only as equal intervals.
           ('total_took', tally.value('total_took', NULL::interval)::text IS NOT DISTINCT FROM (SELECT sum(took) FROM events)::text),
           ('avg_took', tally.value('avg_took', NULL::interval)::text IS NOT DISTINCT FROM (SELECT avg(took) FROM events)::text),
           ('avg_wait', tally.value('avg_wait', NULL::interval)::text IS NOT DISTINCT FROM
                        (SELECT avg(at - '2026-12-01 00:00+00'::timestamptz) FROM events)::text),
           ('avg_took_by_kind', NOT EXISTS (
                SELECT kind, avg(took)::text FROM events GROUP BY kind
                EXCEPT ALL SELECT group_key, value::text FROM tally.groups('avg_took_by_kind', NULL::interval))),
           ('first_at_by_kind', NOT EXISTS (
                SELECT kind, min(at) FROM events GROUP BY kind
                EXCEPT ALL SELECT * FROM tally.groups('first_at_by_kind', NULL::timestamptz))),
           ('emails_by_kind', NOT EXISTS (
                SELECT kind, count(DISTINCT email)::numeric FROM events GROUP BY kind
                EXCEPT ALL SELECT * FROM tally.groups('emails_by_kind')))
$$;
SELECT * FROM check_figures() WHERE NOT exact;
-- The figures, as read: '1 mon' and '30 days' are one interval to Postgres (one distinct
-- value, either is the max), read back in justified form.
SELECT tally.value('last_at', NULL::timestamptz) AS last_at, tally.value('first_day', NULL::date) AS first_day,
       tally.value('longest', NULL::interval) AS longest, tally.value('durations') AS durations,
       tally.value('top_session', NULL::uuid) AS top_session, tally.value('latest_version', NULL::text) AS latest_version,
       tally.value('codes') AS codes;
SELECT * FROM tally.groups('first_at_by_kind', NULL::timestamptz);
-- Text is what every type reads as too.
SELECT tally.value('last_at', NULL::text) AS last_at, tally.value('longest', NULL::text) AS longest,
       tally.value('any_ok', NULL::varchar) AS any_ok, tally.value('emails', NULL::text) AS emails;

-- Deleting and updating the current extremes away, in one-row and several-row statements,
-- COPY, a savepoint rolled back, TRUNCATE.
DELETE FROM events WHERE id = 2;
UPDATE events SET version = '1.2', took = interval '5 minutes' WHERE id = 3;
BEGIN;
SAVEPOINT s;
INSERT INTO events (at, version) VALUES ('2030-01-01+00', '9.9');
ROLLBACK TO SAVEPOINT s;
UPDATE events SET at = at + interval '1 day', session = NULL WHERE kind = 'a';
COMMIT;
COPY events (kind, at, took, session, email, version, code) FROM STDIN;
c	2026-12-06 00:00:00+00	3 days	11111111-1111-1111-1111-111111111111	CAROL@example.com	10.0	zz
\.
SELECT * FROM check_figures() WHERE NOT exact;
SELECT tally.value('last_at', NULL::timestamptz) AS last_at, tally.value('latest_version', NULL::text) AS latest_version,
       tally.value('longest', NULL::interval) AS longest, tally.value('total_took', NULL::interval) AS total_took,
       tally.value('avg_took', NULL::interval) AS avg_took;

-- The snapshot carries each type (ISO 8601, a timestamptz in UTC; strings; booleans), and the
-- typed view has the figures' types. Neither changes with the session's settings.
SELECT tally.create_dashboard('events', ARRAY['last_at', 'first_at_by_kind', 'first_day', 'latest_clock', 'longest',
                                              'top_session', 'any_ok', 'latest_version', 'emails', 'last_local',
                                              'total_took', 'avg_took_by_kind'], 'events_view');
-- A dashboard of counts and a sum over intervals goes to the query (the one-row read by index
-- lookups reads numbers only), with the same figures.
SELECT tally.create_dashboard('took', ARRAY['total_took', 'all_events']);
SELECT tally._snapshot_counters('took') IS NULL AS read_by_query,
       (tally.snapshot('took') ->> 'total_took')::interval = tally.value('total_took', NULL::interval) AS same;
SELECT jsonb_pretty(tally.snapshot('events') - 'as_of');
SET TimeZone = 'America/New_York'; SET DateStyle = 'SQL, DMY'; SET IntervalStyle = 'sql_standard';
SELECT (tally.snapshot('events') - 'as_of') = (SELECT tally.snapshot('events') - 'as_of') AS same,
       tally.snapshot('events') ->> 'last_at' AS last_at, tally.snapshot('events') ->> 'longest' AS longest;
SELECT last_at = tally.value('last_at', NULL::timestamptz) AS view_last_at, longest, first_day, top_session, any_ok,
       latest_version, emails FROM events_view;
RESET TimeZone; RESET DateStyle; RESET IntervalStyle;
SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
 WHERE attrelid = 'events_view'::regclass AND attnum > 0 ORDER BY attnum;
SELECT * FROM tally.series('last_at', '2026-01-01', '2027-01-01', NULL::timestamptz);

-- Refused, each with its SQLSTATE: the numeric reads of a typed figure; a type it cannot be
-- read as; a float summed; a type no metric tracks; a text a min or max cannot keep in order (the write is refused,
-- not the metric broken), while count_distinct takes it by digest.
SELECT tally.value('last_at');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM tally.groups('first_at_by_kind');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM tally.series('last_at', '2026-01-01', '2027-01-01');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.value('last_at', NULL::date);
\echo :LAST_ERROR_SQLSTATE
SELECT tally.value('emails', NULL::uuid);
\echo :LAST_ERROR_SQLSTATE
SELECT tally.value('no_such_metric', NULL::text);
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE floats (x float8, name text COLLATE "POSIX", other text, p point);
SELECT tally.create_metric('fsum', 'floats', 'sum', 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('pmax', 'floats', 'count_distinct', 'p');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('tsum', 'floats', 'sum', 'name');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('tsum', 'floats', 'avg', $$'1 day'::interval * x$$);
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('posix_max', 'floats', 'max', 'name')->>'column_name';
INSERT INTO events (version) VALUES (repeat('v', 601));
\echo :LAST_ERROR_SQLSTATE
INSERT INTO events (email) VALUES (repeat('e', 5000));
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE notes (body text);
SELECT tally.create_metric('bodies', 'notes', 'count_distinct', 'body')->>'column_name';
INSERT INTO notes VALUES (repeat('e', 5000)), (repeat('e', 5000)), (repeat('e', 4999) || 'f'), (repeat('é', 300)), ('');
INSERT INTO notes VALUES (repeat('e', 4999) || 'g');
SELECT tally.value('bodies') AS bodies, (SELECT count(DISTINCT body) FROM notes) AS live;
DELETE FROM notes WHERE body = repeat('e', 4999) || 'f';
SELECT tally.value('bodies') AS bodies, (SELECT count(DISTINCT body) FROM notes) AS live;

-- A column changing to another value type would change what the counters hold: refused.
-- A change within the type (varchar's length) is followed.
ALTER TABLE events ALTER COLUMN at TYPE timestamp;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE events ALTER COLUMN label TYPE varchar(40);
ALTER TABLE events ALTER COLUMN version TYPE text COLLATE "default";
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM check_figures() WHERE NOT exact;

-- Values whose encodings do not order as they do (0.12.0): text in a collation that is not
-- byte order (here the database's default; a collation of pg_catalog), inet ('9.0.0.1' <
-- '10.0.0.2' < '10.0.0.2/8'; IPv4 before IPv6). Their min and max are picked when read,
-- among the group's values.
CREATE TABLE hosts (kind text, name text, addr inet);
INSERT INTO hosts VALUES ('x', 'bob', '10.0.0.2'), ('x', 'Émile', '9.0.0.1'), ('y', 'alice', '::1'),
                         ('y', NULL, NULL), ('y', 'Zoé', '10.0.0.2/8');
SELECT tally.create_metric('first_name', 'hosts', 'min', 'name')->>'column_name';
SELECT tally.create_metric('last_name_by_kind', 'hosts', 'max', 'name', group_by => 'kind')->>'column_name';
SELECT tally.create_metric('top_addr', 'hosts', 'max', 'addr')->>'column_name';
SELECT tally.create_metric('low_addr_by_kind', 'hosts', 'min', 'addr', group_by => 'kind')->>'column_name';
SELECT tally.create_metric('addrs', 'hosts', 'count_distinct', 'addr')->>'column_name';
SELECT m.name, t.type_name, t.collation_name FROM tally._value_type t JOIN tally._metric m ON m.id = t.metric_id
 WHERE m.source = 'hosts'::regclass ORDER BY m.name;
CREATE FUNCTION check_sorted() RETURNS TABLE (metric text, exact boolean) LANGUAGE sql AS $$
    VALUES ('first_name', tally.value('first_name', NULL::text) IS NOT DISTINCT FROM (SELECT min(name) FROM hosts)),
           ('top_addr', tally.value('top_addr', NULL::inet) IS NOT DISTINCT FROM (SELECT max(addr) FROM hosts)),
           ('addrs', tally.value('addrs') = (SELECT count(DISTINCT addr) FROM hosts)),
           -- over all groups too: the min or max of the groups' figures by the values' order
           ('last_name_overall', tally.value('last_name_by_kind', NULL::text) IS NOT DISTINCT FROM (SELECT max(name) FROM hosts)),
           ('low_addr_overall', tally.value('low_addr_by_kind', NULL::inet) IS NOT DISTINCT FROM (SELECT min(addr) FROM hosts)),
           ('last_name_by_kind', NOT EXISTS (SELECT kind, max(name) FROM hosts GROUP BY kind
                                             EXCEPT ALL SELECT * FROM tally.groups('last_name_by_kind', NULL::text))),
           ('low_addr_by_kind', NOT EXISTS (SELECT kind, min(addr) FROM hosts GROUP BY kind
                                            EXCEPT ALL SELECT * FROM tally.groups('low_addr_by_kind', NULL::inet)))
$$;
SELECT * FROM check_sorted() WHERE NOT exact;
SELECT tally.value('top_addr', NULL::inet) AS top_addr, tally.value('low_addr_by_kind', NULL::inet) AS low_addr,
       tally.value('first_name', NULL::text) AS first_name;
INSERT INTO hosts VALUES ('z', 'Ann', '9.0.0.0');
DELETE FROM hosts WHERE addr = '::1';
UPDATE hosts SET name = 'bobby' WHERE name = 'bob';
SELECT * FROM check_sorted() WHERE NOT exact;
SELECT tally.value('top_addr', NULL::inet) AS top_addr, tally.value('low_addr_by_kind', NULL::inet) AS low_addr;
SELECT tally.create_dashboard('hosts', ARRAY['top_addr', 'low_addr_by_kind', 'first_name'], 'hosts_view');
SELECT tally.snapshot('hosts') - 'as_of' AS snapshot;
SELECT top_addr, pg_typeof(top_addr) AS addr_type, first_name FROM hosts_view;
-- A collation created after initdb (collation_figures has more): min and max over a column
-- in one since 0.15.0 (the reads find it through the column), count_distinct in any case
-- (it compares bytes, whatever the collation).
CREATE COLLATION my_posix (locale = 'POSIX');
ALTER TABLE hosts ADD COLUMN nick text COLLATE my_posix;
SELECT tally.create_metric('last_nick', 'hosts', 'max', 'nick')->>'column_name';
SELECT tally.create_metric('nicks', 'hosts', 'count_distinct', 'nick')->>'column_name';
-- A column's collation changing to byte order would change how a min or max is read: refused.
ALTER TABLE hosts ALTER COLUMN name TYPE text COLLATE "C";
\echo :LAST_ERROR_SQLSTATE
SELECT tally.drop_dashboard('hosts');
SELECT tally.verify();
SELECT tally.drop_metric(name) FROM tally.metrics WHERE source = 'hosts'::regclass;
DROP TABLE hosts;
DROP FUNCTION check_sorted();
DROP COLLATION my_posix;

-- Found by a hostile probe, each now exact: time '24:00' (pgrx's own conversion takes it to
-- '00:00'), an interval whose months and days are near their limits (no span is beyond
-- what a read can write back), a top-level COLLATE "default" over a column of another
-- collation (kept in the stored text, so later DDL re-checks the same expression).
CREATE TABLE edges (clock time, took interval, t text COLLATE "C");
SELECT tally.create_metric('edge_latest', 'edges', 'max', 'clock')->>'column_name';
SELECT tally.create_metric('edge_clocks', 'edges', 'count_distinct', 'clock')->>'column_name';
SELECT tally.create_metric('edge_longest', 'edges', 'max', 'took')->>'column_name';
SELECT tally.create_metric('edge_texts', 'edges', 'count_distinct', 't COLLATE "default"')->>'column_name';
INSERT INTO edges VALUES ('08:00', make_interval(months => 2147483647, days => 2147483647), 'a'),
                         ('24:00', make_interval(months => 2147483647, days => 30), 'b'), ('00:00', '1 day', 'a');
SELECT tally.value('edge_latest', NULL::time) = (SELECT max(clock) FROM edges) AS latest,
       tally.value('edge_clocks') = (SELECT count(DISTINCT clock) FROM edges) AS clocks,
       tally.value('edge_longest', NULL::interval) = (SELECT max(took) FROM edges) AS longest,
       tally.value('edge_texts') = (SELECT count(DISTINCT t) FROM edges) AS texts;
ALTER TABLE edges ADD COLUMN z int;
-- A sum of intervals past what an interval holds (any writer can make one): tally.value raises
-- 22008 as sum() does; the snapshot reads null for it and the rest of the dashboard stays.
SELECT tally.create_metric('edge_total', 'edges', 'sum', 'took')->>'column_name';
SELECT tally.create_metric('edge_rows', 'edges')->>'aggregate';
SELECT tally.create_dashboard('edges', ARRAY['edge_total', 'edge_rows']);
INSERT INTO edges (took) VALUES ('2147483647 months'), ('2147483647 months');
SELECT tally.value('edge_total', NULL::interval);
\echo :LAST_ERROR_SQLSTATE
SELECT tally.snapshot('edges') - 'as_of' AS snapshot;
SELECT tally.drop_dashboard('edges');
SELECT tally.drop_metric(name) FROM tally.metrics WHERE source = 'edges'::regclass;
DROP TABLE edges;

-- Hostile: a type name made to break out of the dynamic cast is quoted by format's %s of a
-- regtype; a domain's CHECK runs with the caller's rights (not SECURITY DEFINER).
CREATE DOMAIN "text; SELECT 1/0; --" AS text;
SELECT tally.value('latest_version', NULL::"text; SELECT 1/0; --") AS quoted;
CREATE ROLE typed_reader;
CREATE FUNCTION whoami_check(t text) RETURNS boolean LANGUAGE sql AS $$ SELECT current_user = 'typed_reader' $$;
CREATE DOMAIN reader_text AS text CHECK (whoami_check(VALUE));
GRANT SELECT ON events TO typed_reader;
SET ROLE typed_reader;
SELECT tally.value('latest_version', NULL::reader_text) AS checked_as_reader;
RESET ROLE;
SELECT tally.value('latest_version', NULL::reader_text);
\echo :LAST_ERROR_SQLSTATE
-- The snapshot's decoders are the extension owner's alone.
SET ROLE typed_reader;
SELECT tally._figure_json('text', 'max', 1);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- A reader without SELECT on the table is refused before any figure is read.
REVOKE SELECT ON events FROM typed_reader;
SET ROLE typed_reader;
SELECT tally.value('latest_version', NULL::text);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

SELECT tally.verify();
SELECT tally.drop_dashboard('events');
SELECT tally.drop_dashboard('took');
SELECT tally.drop_metric(name) FROM tally.metrics WHERE source IN ('events'::regclass, 'floats'::regclass, 'notes'::regclass);
DROP TABLE events, floats, notes;
DROP DOMAIN reader_text, "text; SELECT 1/0; --";
DROP FUNCTION check_figures(), whoami_check(text);
DROP ROLE typed_reader;
SELECT count(*) AS left_behind FROM tally._value_type;
