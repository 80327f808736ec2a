-- Bad dashboards, dependent metrics, and settings.
\set VERBOSITY default
\set SHOW_CONTEXT never
CREATE TABLE t (id int, status text, amount numeric, price float8, at timestamptz, note jsonb);
SELECT tally.create_metric('m', 't') IS NOT NULL AS created;
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
DROP TABLE t;
