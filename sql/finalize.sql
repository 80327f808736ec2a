-- Runs after pgrx has created every function.

-- Writers whose role may only INSERT into the source still keep counters exact: the
-- trigger writes tally's tables with the extension owner's rights, on a fixed search_path.
ALTER FUNCTION tally._on_write() SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

COMMENT ON FUNCTION tally.create_metric(text, regclass, text, text, text, text, text, text, text) IS
'Defines a metric on a table (count, sum or avg; optional filter, group_by, bucket) and backfills it. Returns the stored definition.';
COMMENT ON FUNCTION tally.drop_metric(text) IS 'Drops a metric, its counters and (if it was the last on its table) the triggers.';
COMMENT ON FUNCTION tally.value(text) IS 'The current figure of a metric over all groups; for a bucketed metric, the bucket holding now().';
COMMENT ON FUNCTION tally.groups(text) IS 'The current figure of a metric per group; for a bucketed metric, the bucket holding now().';
COMMENT ON FUNCTION tally.series(text, timestamptz, timestamptz) IS 'Figures per bucket and group for buckets overlapping [since, until).';
COMMENT ON FUNCTION tally.create_dashboard(text, text[], text) IS 'Names a set of metrics read together by tally.snapshot; optionally creates a one-row typed view.';
COMMENT ON FUNCTION tally.drop_dashboard(text) IS 'Drops a dashboard and its typed view.';
COMMENT ON FUNCTION tally.snapshot(text) IS 'The one-row read: every metric of a dashboard as jsonb, with as_of.';
COMMENT ON FUNCTION tally.refresh(text) IS 'Recomputes one metric (or all) from the source table. DBA job; writers keep running.';
COMMENT ON FUNCTION tally.verify(text) IS 'Compares stored figures with a fresh aggregate; no rows means exact.';
COMMENT ON FUNCTION tally.compact() IS 'Folds pending deltas into the counters without blocking writers. Returns deltas folded.';
