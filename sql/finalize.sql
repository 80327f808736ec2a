-- Runs after pgrx has created every function.

-- The names a metric's value type may have (0.19.0): the library's own list, so a version
-- that adds a type changes no constraint (sql/bootstrap.sql created the table before it).
ALTER TABLE tally._value_type
    ADD CONSTRAINT _value_type_type_name_check CHECK (tally._known_value_type(type_name));

-- Permission model (docs/security.md). Counters live in tables nobody but the extension
-- owner can touch. The API functions run with the caller's rights and a fixed search_path;
-- each remembers the calling role, checks its rights, and only then acts as the extension
-- owner (src/ffi/security.rs, as_extension_owner). They are not SECURITY DEFINER: inside
-- one, pg_tally could not tell which role called it (another role's SECURITY DEFINER
-- function, an index expression run by ANALYZE), and would check the wrong role's rights.
--   define / drop a metric, refresh it       caller owns the source table
--   create a dashboard                       caller may read every metric; owns the view
--   drop a dashboard                         caller is (a member of) its owner; its view is
--                                            dropped (by oid) only if the caller owns it
--   read (value, groups, series, verify)     caller may SELECT the source table and, under
--                                            row-level security, would see every row of it
--   snapshot                                 same, or caller may SELECT the typed view while
--                                            the dashboard's owner may still read it all
--   write the source table                   the trigger keeps counters exact for any
--                                            writer, even one with INSERT rights only
-- What a table owner wrote (filters, the casts of its columns) never runs with the extension
-- owner's rights: it is parsed, planned and evaluated as the table owner inside a
-- security-restricted operation, under fixed settings.
-- SECURITY DEFINER remains only where no caller's rights are checked: the write trigger, the
-- DDL hooks (event triggers run them for whoever ran the DDL). The write trigger has no SET
-- clause: setting and restoring search_path on every write statement cost ~7% of a
-- single-row INSERT. It fixes its settings itself around everything that parses, plans or
-- executes SQL (ffi::with_fixed_settings); its single-row path only evaluates precompiled
-- built-in expressions (as the table owner) and inserts change rows.
ALTER FUNCTION tally._on_write() SECURITY DEFINER;
ALTER FUNCTION tally.create_metric(text, regclass, text, text, text, anycompatible, text, text, text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION tally.drop_metric(text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION tally._create_dashboard(text, text[], text, text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION tally.drop_dashboard(text) SET search_path = pg_catalog, pg_temp;
-- The reads plan over the queue table tally._change, which the planner sees large between
-- two vacuums: it would price them past jit_above_cost and JIT-compile a sub-millisecond
-- query (35-180 ms for tally.value after 30 s of 8 writers, measured). jit = off.
ALTER FUNCTION tally.value(text) SET search_path = pg_catalog, pg_temp SET jit = off;
ALTER FUNCTION tally.groups(text) SET search_path = pg_catalog, pg_temp SET jit = off;
ALTER FUNCTION tally.series(text, timestamptz, timestamptz) SET search_path = pg_catalog, pg_temp SET jit = off;
ALTER FUNCTION tally._value_text(text, oid) SET search_path = pg_catalog, pg_temp SET jit = off;
ALTER FUNCTION tally._groups_text(text, oid) SET search_path = pg_catalog, pg_temp SET jit = off;
ALTER FUNCTION tally._series_text(text, timestamptz, timestamptz, oid) SET search_path = pg_catalog, pg_temp SET jit = off;
ALTER FUNCTION tally.verify(text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION tally.refresh(text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION tally.compact() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION tally._snapshot_text(text) SET search_path = pg_catalog, pg_temp SET jit = off;
ALTER FUNCTION tally._snapshot_query(text, oid) SET search_path = pg_catalog, pg_temp SET jit = off;
ALTER FUNCTION tally._revalidate_source(regclass) SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION tally._check_source(regclass) SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION tally._on_sql_drop() SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION tally._on_alter_table() SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION tally._on_table_rewrite() SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
REVOKE EXECUTE ON FUNCTION tally._on_write(), tally._revalidate_source(regclass), tally._check_source(regclass),
    tally._snapshot_query(text, oid), tally._require_current_metrics(), tally._written_now(xid) FROM PUBLIC;
-- The reads (as the extension owner) decode typed figures and order sorted ones with these
-- (0.12.0); nobody else needs them.
REVOKE EXECUTE ON FUNCTION tally._figure_json(text, text, numeric), tally._interval_figure(text, numeric, numeric),
    tally._typed_figure(text, text, numeric),
    tally._snapshot_figure(integer, text, text, timestamptz, text, numeric, numeric, numeric[], bigint[]),
    tally._sort_key(integer), tally._sort_collation(integer), tally._collated_pick(numeric[], oid, boolean), tally._sorted_extreme(integer, text, timestamptz, text, numeric[], bigint[]),
    tally._sorted_pick(text, text, numeric[]), tally._text_of(numeric), tally._float_of(numeric) FROM PUBLIC;

COMMENT ON FUNCTION tally.create_metric(text, regclass, text, text, text, anycompatible, text, text, text) IS
'Defines a metric on a table (count, sum, avg, min, max or count_distinct over a column or expression; optional filter, group_by column or columns, bucket) and backfills it. Returns the stored definition.';
COMMENT ON FUNCTION tally.drop_metric(text) IS 'Drops a metric, its counters and (if it was the last on its table) the triggers.';
COMMENT ON FUNCTION tally.value(text) IS 'The current figure of a metric over all groups; for a bucketed metric, the bucket holding now().';
COMMENT ON FUNCTION tally.groups(text) IS 'The current figure of a metric per group; for a bucketed metric, the bucket holding now().';
COMMENT ON FUNCTION tally.series(text, timestamptz, timestamptz) IS 'Figures per bucket and group for buckets overlapping [since, until).';
COMMENT ON FUNCTION tally.value(text, anyelement) IS 'The current figure of a metric over all groups, in the type of as_type (pass a NULL of the figure''s type, such as NULL::timestamptz).';
COMMENT ON FUNCTION tally.groups(text, anyelement) IS 'The current figure of a metric per group, in the type of as_type.';
COMMENT ON FUNCTION tally.series(text, timestamptz, timestamptz, anyelement) IS 'Figures per bucket and group for buckets overlapping [since, until), in the type of as_type.';
COMMENT ON FUNCTION tally.create_dashboard(text, text[], text) IS 'Names a set of metrics read together by tally.snapshot; optionally creates a one-row typed view.';
COMMENT ON FUNCTION tally.drop_dashboard(text) IS 'Drops a dashboard and its typed view.';
COMMENT ON FUNCTION tally.snapshot(text) IS 'The one-row read: every metric of a dashboard as jsonb, with as_of.';
COMMENT ON FUNCTION tally.refresh(text) IS 'Recomputes one metric (or all) from the source table. DBA job; writers keep running.';
COMMENT ON FUNCTION tally.verify(text) IS 'Compares stored figures with a fresh aggregate; no rows means exact.';
COMMENT ON FUNCTION tally.compact() IS 'Folds pending deltas into the counters without blocking writers. Returns deltas folded.';
