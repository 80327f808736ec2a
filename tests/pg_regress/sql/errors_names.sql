-- Reads, drops and DBA jobs on names that do not exist.
\set VERBOSITY default
\set SHOW_CONTEXT never
CREATE TABLE t (id int, status text, amount numeric, price float8, at timestamptz, note jsonb);
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
DROP TABLE t;
