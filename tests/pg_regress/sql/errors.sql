-- Every class of bad input: a real SQLSTATE (echoed after each error), a message and a
-- hint, and nothing half-created.
\set VERBOSITY default
\set SHOW_CONTEXT never
CREATE TABLE t (id int, status text, amount numeric, price float8, at timestamptz, note jsonb);
CREATE VIEW v AS SELECT * FROM t;
CREATE ROLE tally_stranger;

-- unknown table (regclass input)
SELECT tally.create_metric('m', 'no_such_table');
\echo :LAST_ERROR_SQLSTATE
-- not a table
SELECT tally.create_metric('m', 'v');
\echo :LAST_ERROR_SQLSTATE
-- empty name
SELECT tally.create_metric('  ', 't');
\echo :LAST_ERROR_SQLSTATE
-- unknown aggregate
SELECT tally.create_metric('m', 't', 'median', 'amount');
\echo :LAST_ERROR_SQLSTATE
-- sum without a column
SELECT tally.create_metric('m', 't', 'sum');
\echo :LAST_ERROR_SQLSTATE
-- unknown column
SELECT tally.create_metric('m', 't', 'sum', 'amont');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('m', 't', group_by => 'Status');
\echo :LAST_ERROR_SQLSTATE
-- wrong column type for sum/avg
SELECT tally.create_metric('m', 't', 'sum', 'status');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('m', 't', 'avg', 'price');
\echo :LAST_ERROR_SQLSTATE
-- group by a column whose text form depends on the session
SELECT tally.create_metric('m', 't', group_by => 'at');
\echo :LAST_ERROR_SQLSTATE
-- buckets
SELECT tally.create_metric('m', 't', bucket => 'fortnight', bucket_column => 'at');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('m', 't', bucket => 'day');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('m', 't', bucket => 'day', bucket_column => 'status');
\echo :LAST_ERROR_SQLSTATE
-- time zone
SELECT tally.create_metric('m', 't', bucket => 'day', bucket_column => 'at', time_zone => 'Mars/Olympus_Mons');
\echo :LAST_ERROR_SQLSTATE
-- filters: not one expression
SELECT tally.create_metric('m', 't', filter => $$status = 'PAID'; DROP TABLE t$$);
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('m', 't', filter => $$status = 'PAID') OR (true$$);
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('m', 't', filter => $$true FROM pg_class$$);
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('m', 't', filter => $$status = $$);
\echo :LAST_ERROR_SQLSTATE
-- filters: not boolean
SELECT tally.create_metric('m', 't', filter => 'amount + 1');
\echo :LAST_ERROR_SQLSTATE
-- filters: not allowed (subqueries, volatile or time-dependent functions, aggregates, unknown columns)
SELECT tally.create_metric('m', 't', filter => '(SELECT count(*) FROM pg_class) > 0');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('m', 't', filter => 'random() < 0.5');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('m', 't', filter => $$at > now() - interval '1 day'$$);
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('m', 't', filter => 'count(*) > 1');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('m', 't', filter => 'pg_sleep(1) IS NULL');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('m', 't', filter => 'nope > 1');
\echo :LAST_ERROR_SQLSTATE
-- nothing was half-created
SELECT count(*) AS metrics, (SELECT count(*) FROM pg_trigger WHERE tgrelid = 't'::regclass) AS triggers FROM tally._metric;

-- duplicates
SELECT tally.create_metric('m', 't') IS NOT NULL AS created;
SELECT tally.create_metric('m', 't');
\echo :LAST_ERROR_SQLSTATE
-- not the owner
SET ROLE tally_stranger;
SELECT tally.create_metric('m2', 't');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- READ COMMITTED only for definitions
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT tally.create_metric('m3', 't');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;

-- reads and drops of unknown names
SELECT tally.value('nope');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM tally.groups('nope');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM tally.series('nope', now() - interval '1 day');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.snapshot('nope');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.drop_metric('nope');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.drop_dashboard('nope');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM tally.verify('nope');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM tally.refresh('nope');
\echo :LAST_ERROR_SQLSTATE

-- dashboards
SELECT tally.create_dashboard('d', ARRAY[]::text[]);
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_dashboard('d', ARRAY['m', 'nope']);
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_dashboard('d', ARRAY['m', 'm']);
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_dashboard('d', ARRAY['m'], view_name => 'a.b.c');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_dashboard('d', ARRAY['m'], view_name => 'no_such_schema.v');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS dashboards FROM tally._dashboard;
SELECT tally.create_dashboard('d', ARRAY['m']);
SELECT tally.create_dashboard('d', ARRAY['m']);
\echo :LAST_ERROR_SQLSTATE
-- a metric in use by a dashboard
SELECT tally.drop_metric('m');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.drop_dashboard('d'), tally.drop_metric('m');
-- a misspelled setting under the reserved prefix
SET tally.compact_treshold = 5;
\echo :LAST_ERROR_SQLSTATE

DROP VIEW v;
DROP TABLE t;
DROP ROLE tally_stranger;
