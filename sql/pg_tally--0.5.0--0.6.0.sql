-- pg_tally 0.5.0 -> 0.6.0: one row of pending changes per write statement.
--
-- Until 0.5.0 a write statement inserted one tally._delta row (and one index entry) per
-- counter it changed: four for a single-row INSERT into a table with four metrics, each
-- later deleted by a fold and vacuumed. From 0.6.0 it inserts one tally._change row whose
-- arrays hold all of its changes; tally._delta becomes a view with the old table's columns,
-- one row per change, so everything that reads pending changes reads them as before.
--
-- The old table is locked first: write statements in flight finish (their changes are
-- moved below), and write statements that start meanwhile wait for this update and then
-- fail (the table they write is gone), so no change is lost. Install the 0.6.0 library
-- before running this (a 0.6.0 library keeps writing 0.5.0-shaped rows until then).
--
-- The SQL reads (value, groups, series, the query-based snapshot) get jit = off.
\echo Use "ALTER EXTENSION pg_tally UPDATE TO '0.6.0'" to load this file. \quit

-- Deltas committed while this waits for the lock are carried over only if the statements
-- below see them: each statement of an update script takes a new snapshot at READ
-- COMMITTED, but under REPEATABLE READ or SERIALIZABLE all would read the snapshot taken
-- before the lock, and the table they miss is dropped.
DO $$
BEGIN
    IF pg_catalog.current_setting('transaction_isolation') OPERATOR(pg_catalog.<>) 'read committed' THEN
        RAISE EXCEPTION 'pg_tally 0.6.0 must be installed at READ COMMITTED'
              USING ERRCODE = 'invalid_transaction_state',
                    HINT = 'Run ALTER EXTENSION pg_tally UPDATE outside an explicit REPEATABLE READ or SERIALIZABLE transaction.';
    END IF;
END
$$;
LOCK TABLE tally._delta IN EXCLUSIVE MODE;

CREATE TABLE tally._change (
    xact_id      xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id(),
    metric_id    int[] NOT NULL,
    bucket_start timestamptz[] NOT NULL,
    group_key    text[] NOT NULL,
    n_rows       bigint[] NOT NULL,
    n_values     bigint[] NOT NULL,
    total        numeric[] NOT NULL,
    value        numeric[] NOT NULL
);
CREATE INDEX _change_xact ON tally._change (xact_id);

-- Every pending change, packed by transaction (any packing is valid: only the
-- transaction id of a change matters to folds and reads).
INSERT INTO tally._change (xact_id, metric_id, bucket_start, group_key, n_rows, n_values, total, value)
SELECT d.xact_id, array_agg(d.metric_id), array_agg(d.bucket_start), array_agg(d.group_key),
       array_agg(d.n_rows), array_agg(d.n_values), array_agg(d.total), array_agg(d.value)
  FROM tally._delta d
 GROUP BY d.xact_id;

ALTER EXTENSION pg_tally DROP TABLE tally._delta;
DROP TABLE tally._delta;

CREATE VIEW tally._delta AS
SELECT d.metric_id, d.bucket_start, d.group_key, d.n_rows, d.n_values, d.total, d.value, c.xact_id
  FROM tally._change c,
       ROWS FROM (pg_catalog.unnest(c.metric_id), pg_catalog.unnest(c.bucket_start),
                  pg_catalog.unnest(c.group_key), pg_catalog.unnest(c.n_rows),
                  pg_catalog.unnest(c.n_values), pg_catalog.unnest(c.total), pg_catalog.unnest(c.value))
         AS d(metric_id, bucket_start, group_key, n_rows, n_values, total, value);

SELECT pg_catalog.pg_extension_config_dump('tally._change', '');

-- The reads plan over the queue table, which the planner sees large between two vacuums:
-- it priced them past jit_above_cost and JIT-compiled sub-millisecond queries on every call.
ALTER FUNCTION tally.value(text) SET jit = off;
ALTER FUNCTION tally.groups(text) SET jit = off;
ALTER FUNCTION tally.series(text, timestamptz, timestamptz) SET jit = off;
ALTER FUNCTION tally._snapshot_sql(text) SET jit = off;
