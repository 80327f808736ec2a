-- Bad arguments to tally.create_metric: each error with its SQLSTATE (echoed), message
-- and hint, and nothing half-created.
\set VERBOSITY default
\set SHOW_CONTEXT never
CREATE TABLE t (id int, status text, amount numeric, price float8, at timestamptz, note json, late interval);
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
-- min, max and count_distinct need a column, of a type they keep (not json: jsonb is)
SELECT tally.create_metric('m', 't', 'min');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('m', 't', 'max', 'note');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('m', 't', 'count_distinct', 'note');
\echo :LAST_ERROR_SQLSTATE
-- group by a column whose text form depends on the session
SELECT tally.create_metric('m', 't', group_by => 'late');
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
SELECT tally.drop_metric('m');
DROP VIEW v;
DROP ROLE tally_stranger;
DROP TABLE t;
