-- pg_tally 0.7.0 -> 0.8.0: security release (CHANGELOG "0.8.0 / Security", docs/security.md).
--
-- No role can gain the extension owner's rights through pg_tally any more:
-- * a metric's filter is planned and evaluated as the owner of its table, inside a
--   security-restricted operation, never as the extension owner (the library does this);
-- * filters are checked by parse analysis for anything not built in (functions, operators,
--   types such as domains, collations, relations) before anything is planned, and stored
--   filters are parsed only under fixed settings (the library);
-- * pg_tally's triggers are dropped by oid, never by name (the library);
-- * the API functions are no longer SECURITY DEFINER: they check the rights of the role that
--   called them, then act as the extension owner (below, and the library);
-- * every function pins search_path = pg_catalog, pg_temp (below);
-- * reads respect row-level security (tally._may_read, below);
-- * a dashboard holds its typed view by oid (tally._dashboard.view_name becomes regclass);
-- * the fold lock is an object lock no role can take from SQL (the library).
-- Stored filters are not rewritten: each is text Postgres deparsed at definition, which the
-- 0.8.0 library only ever parses under fixed settings. Review the filters of metrics defined
-- by roles you do not trust (SELECT name, source, filter FROM tally.metrics): one that names
-- an object that is not built in now fails at the next ALTER TABLE of its table, with the
-- name of the metric; drop and define it again.
\echo Use "ALTER EXTENSION pg_tally UPDATE TO '0.8.0'" to load this file. \quit

-- Whether a role may read a table's figures directly: SELECT on it, and every row visible
-- under its row-level security (src/ffi/scan.rs, may_read).
CREATE FUNCTION tally."_may_read"(
	"reader" oid,
	"source" oid
) RETURNS bool
STRICT STABLE PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', '_may_read_wrapper';

-- The typed view by oid: a renamed view stays the dashboard's, and a later view of its old
-- name is never taken for it. A view dropped meanwhile is forgotten.
DROP VIEW tally.dashboards;
ALTER TABLE tally._dashboard ALTER COLUMN view_name TYPE regclass USING pg_catalog.to_regclass(view_name);
CREATE VIEW tally.dashboards AS
SELECT d.name, d.metrics,
       (SELECT pg_catalog.format('%I.%I', n.nspname, c.relname)
          FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         WHERE c.oid = d.view_name::pg_catalog.oid) AS view_name,
       d.owner, d.created_at
  FROM tally._dashboard d;
COMMENT ON VIEW tally.dashboards IS 'Every pg_tally dashboard, its metrics and its typed view.';
GRANT SELECT ON tally.dashboards TO PUBLIC;

-- The query-based dashboard read checks the role that called it (0.7.0's SECURITY DEFINER
-- PL/pgSQL function checked the session's role): tally._snapshot_text (Rust) remembers the
-- caller and runs tally._snapshot_query, which only the extension owner may run, for it.
DROP FUNCTION tally._invoker();
CREATE FUNCTION tally."_snapshot_text"(
	"dashboard" TEXT
) RETURNS TEXT
STABLE PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', '_snapshot_text_wrapper';

-- tally._snapshot_query: the same read as one query (0.1.0-0.2.0's tally.snapshot), for the
-- reader `reader`. Written in PL/pgSQL on purpose: the jsonb is built by Postgres and returned
-- as is, so numeric figures stay exact (a round trip through a JSON library would turn them
-- into floats), and PL/pgSQL caches the plan per session. Only the extension owner may run it
-- (finalize.sql): tally._snapshot_sql reaches it through tally._snapshot_text (src/snapshot.rs),
-- which passes the calling role as `reader` and runs it with the extension owner's rights.
-- search_path = pg_catalog, pg_temp (finalize.sql); every function, operator and type in it
-- is schema-qualified too. It sets jit = off
-- (finalize.sql): a bloated queue table makes the planner price it past jit_above_cost.
--
-- Per metric, a LATERAL subquery reads the counters of the current bucket (or of the NULL
-- bucket of an unbucketed metric) from folded state and pending deltas: parameterized index
-- lookups on (metric_id, bucket_start) in _state and on xact_id from the fold horizon in
-- _change (through the view _delta), whatever the size of the source tables.
CREATE FUNCTION tally._snapshot_query(dashboard pg_catalog.text, reader pg_catalog.oid) RETURNS pg_catalog.jsonb
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $fn$
DECLARE
    result pg_catalog.jsonb;
    allowed pg_catalog.bool;
BEGIN
    -- Readable by whoever may read every source table, or may SELECT the dashboard's typed
    -- view while the dashboard's owner may still read every source table (a view does not
    -- keep publishing figures its owner lost the right to read).
    SELECT pg_catalog.jsonb_build_object('as_of', pg_catalog.now())
           OPERATOR(pg_catalog.||) pg_catalog.jsonb_object_agg(mt.name, f.figure),
           pg_catalog.bool_and(tally._may_read(reader, mt.source))
           OR (pg_catalog.bool_or(coalesce(pg_catalog.has_table_privilege(reader, d.view_name::pg_catalog.oid, 'SELECT'), false))
               AND pg_catalog.bool_and(tally._may_read(d.owner::pg_catalog.oid, mt.source)))
      INTO result, allowed
      FROM tally._dashboard d
     CROSS JOIN LATERAL pg_catalog.unnest(d.metrics) AS u(name)
      JOIN tally._metric mt ON mt.name OPERATOR(pg_catalog.=) u.name
     CROSS JOIN LATERAL (SELECT tally._current_bucket(mt.bucket, mt.time_zone) AS cur) c
     CROSS JOIN LATERAL (
            SELECT CASE WHEN mt.group_by IS NULL
                        THEN coalesce(pg_catalog.to_jsonb(tally._figure_of(mt.id, mt.aggregate, c.cur, NULL, pg_catalog.sum(g.v), pg_catalog.sum(g.t))),
                                      'null'::pg_catalog.jsonb)
                        ELSE coalesce(pg_catalog.jsonb_object_agg(coalesce(g.k, 'null'), tally._figure_of(mt.id, mt.aggregate, c.cur, g.k, g.v, g.t))
                                        FILTER (WHERE g.r OPERATOR(pg_catalog.<>) 0), '{}'::pg_catalog.jsonb)
                   END AS figure
              FROM (SELECT x.group_key AS k, pg_catalog.sum(x.n_rows) AS r, pg_catalog.sum(x.n_values) AS v,
                           pg_catalog.sum(x.total) AS t
                      FROM (SELECT s.group_key, s.n_rows, s.n_values, s.total FROM tally._state s
                             WHERE s.metric_id OPERATOR(pg_catalog.=) mt.id AND s.bucket_start OPERATOR(pg_catalog.=) c.cur AND s.value IS NULL
                            UNION ALL
                            SELECT s.group_key, s.n_rows, s.n_values, s.total FROM tally._state s
                             WHERE s.metric_id OPERATOR(pg_catalog.=) mt.id AND s.bucket_start IS NULL AND c.cur IS NULL AND s.value IS NULL
                            UNION ALL
                            SELECT x.group_key, x.n_rows, x.n_values, x.total FROM tally._delta x
                             WHERE x.metric_id OPERATOR(pg_catalog.=) mt.id AND x.xact_id OPERATOR(pg_catalog.>=) tally._fold_horizon()
                               AND x.bucket_start OPERATOR(pg_catalog.=) c.cur AND x.value IS NULL
                            UNION ALL
                            SELECT x.group_key, x.n_rows, x.n_values, x.total FROM tally._delta x
                             WHERE x.metric_id OPERATOR(pg_catalog.=) mt.id AND x.xact_id OPERATOR(pg_catalog.>=) tally._fold_horizon()
                               AND x.bucket_start IS NULL AND c.cur IS NULL AND x.value IS NULL) x
                     GROUP BY x.group_key) g) f
     WHERE d.name OPERATOR(pg_catalog.=) dashboard
    HAVING pg_catalog.count(*) OPERATOR(pg_catalog.>) 0;
    IF result IS NULL THEN
        RAISE EXCEPTION 'dashboard "%" does not exist', dashboard
              USING ERRCODE = 'undefined_object',
                    HINT = 'SELECT name FROM tally.dashboards lists the dashboards.';
    END IF;
    IF NOT allowed THEN
        RAISE EXCEPTION 'permission denied to read dashboard "%"', dashboard
              USING ERRCODE = 'insufficient_privilege',
                    HINT = 'Figures are readable by roles that may SELECT the source tables and, when they have row-level security, would see all of their rows (their owner, BYPASSRLS roles); others read what the dashboard''s typed view publishes: GRANT SELECT ON the_view TO the_role.';
    END IF;
    RETURN result;
END
$fn$;

-- tally._snapshot_sql: the query-based read for the calling role (jsonb text from
-- tally._snapshot_text, cast back: numerics stay exact). Replaced, not dropped: typed views
-- made by 0.1.0 call it (0.1.0's tally.snapshot, renamed), and keep working.
CREATE OR REPLACE FUNCTION tally._snapshot_sql(dashboard pg_catalog.text) RETURNS pg_catalog.jsonb
LANGUAGE sql STABLE PARALLEL SAFE
AS $fn$ SELECT tally._snapshot_text(dashboard)::pg_catalog.jsonb $fn$;

-- The API functions are no longer SECURITY DEFINER: each remembers the role that called it,
-- checks that role's rights and only then acts as the extension owner (the library). Inside
-- a SECURITY DEFINER function pg_tally could not tell which role called it.
ALTER FUNCTION tally.create_metric(text, regclass, text, text, text, text, text, text, text) SECURITY INVOKER;
ALTER FUNCTION tally.drop_metric(text) SECURITY INVOKER;
ALTER FUNCTION tally._create_dashboard(text, text[], text, text) SECURITY INVOKER;
ALTER FUNCTION tally.drop_dashboard(text) SECURITY INVOKER;
ALTER FUNCTION tally.value(text) SECURITY INVOKER;
ALTER FUNCTION tally.groups(text) SECURITY INVOKER;
ALTER FUNCTION tally.series(text, timestamptz, timestamptz) SECURITY INVOKER;
ALTER FUNCTION tally.verify(text) SECURITY INVOKER;
ALTER FUNCTION tally.refresh(text) SECURITY INVOKER;
ALTER FUNCTION tally.compact() SECURITY INVOKER;
ALTER FUNCTION tally._snapshot_text(text) SET search_path = pg_catalog, pg_temp SET jit = off;
ALTER FUNCTION tally._snapshot_query(text, oid) SET search_path = pg_catalog, pg_temp SET jit = off;
REVOKE EXECUTE ON FUNCTION tally._snapshot_query(text, oid) FROM PUBLIC;
-- A table that inherits from a metric's table is refused (its rows would not be counted).
CREATE OR REPLACE FUNCTION tally._on_alter_table() RETURNS event_trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    root oid;
    users text;
BEGIN
    -- A table that inherits from a metric's table (CREATE TABLE ... INHERITS, ALTER TABLE
    -- ... INHERIT) would add rows the metric cannot see written: refused, whatever
    -- check_function_bodies says.
    SELECT pg_catalog.string_agg(DISTINCT m.name, ', ' ORDER BY m.name) INTO users
      FROM pg_event_trigger_ddl_commands() c
      JOIN pg_catalog.pg_inherits i ON i.inhrelid = c.objid
      JOIN pg_catalog.pg_class p ON p.oid = i.inhparent AND p.relkind = 'r'
      JOIN tally._metric m ON m.source::oid = i.inhparent
     WHERE c.classid = 'pg_class'::regclass;
    IF users IS NOT NULL THEN
        RAISE EXCEPTION 'cannot inherit from a table pg_tally counts'
              USING ERRCODE = 'feature_not_supported',
                    DETAIL = format('Metrics of the parent: %s. Rows written into an inheritance child fire no trigger of the parent, so its figures would drift.', users),
                    HINT = 'Use a partitioned table (pg_tally follows partitions), or drop those metrics first.';
    END IF;
    -- pg_restore (every pg_dump script turns check_function_bodies off) recreates the
    -- triggers itself; rebuilding them halfway through would collide with the dump's.
    IF current_setting('check_function_bodies') = 'off' THEN
        RETURN;
    END IF;
    -- A partition (created, attached, detached) counts for the root of its tree.
    FOR root IN SELECT DISTINCT coalesce(pg_partition_root(c.objid), c.objid)
                    FROM pg_event_trigger_ddl_commands() c
                   WHERE c.classid = 'pg_class'::regclass LOOP
        IF EXISTS (SELECT 1 FROM tally._metric m WHERE m.source::oid = root) THEN
            PERFORM tally._revalidate_source(root::regclass);
        END IF;
    END LOOP;
END
$fn$;

-- The DDL hooks (SECURITY DEFINER: no caller's rights are checked there) pin search_path.
ALTER FUNCTION tally._on_sql_drop() SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION tally._on_alter_table() SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
