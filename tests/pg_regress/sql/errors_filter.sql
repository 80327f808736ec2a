-- Filters: one immutable boolean expression over the row, or a clear error.
\set VERBOSITY default
\set SHOW_CONTEXT never
CREATE TABLE t (id int, status text, amount numeric, price float8, at timestamptz, note jsonb);
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
DROP TABLE t;
