-- pg_tally 0.4.0 -> 0.5.0: a cheaper write trigger.
--
-- tally._on_write keeps SECURITY DEFINER but loses its SET search_path clause: setting and
-- restoring search_path on every write statement cost ~7% of a single-row INSERT. The
-- library now fixes search_path itself around everything the trigger parses, plans or
-- executes (see sql/finalize.sql). A 0.5.0 library on a 0.4.0 catalog works unchanged,
-- only without the saving.
--
-- The value readers (min, max, count_distinct: sql/values.sql) and the query-based snapshot
-- (tally._snapshot_sql, sql/read.sql) look up pending deltas from the fold horizon on, as
-- the library's reads have since 0.4.0: they are redefined here exactly as a fresh install
-- creates them. tally._distinct_pending also looks each pending value up in _state on its
-- own (it could scan every value of the group per pending value). CREATE OR REPLACE resets
-- a function's SECURITY DEFINER, so it is set again.
--
-- tally._state loses its partial index on n_rows = 0 (at the end of this file).
\echo Use "ALTER EXTENSION pg_tally UPDATE TO '0.5.0'" to load this file. \quit

ALTER FUNCTION tally._on_write() RESET search_path;

CREATE FUNCTION tally._fold_horizon() RETURNS xid8
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce((SELECT f.horizon FROM tally._fold f WHERE f.id OPERATOR(pg_catalog.=) 1), '0'::pg_catalog.xid8)
$$;

CREATE OR REPLACE FUNCTION tally._extreme(m_id int, m_aggregate text, m_bucket timestamptz, m_group text)
RETURNS numeric LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    descending boolean := m_aggregate = 'max';
BEGIN
    RETURN (
        WITH pending AS (
            SELECT d.value, sum(d.n_rows) AS n FROM tally._delta d
             WHERE d.metric_id = m_id AND d.xact_id >= tally._fold_horizon() AND d.value IS NOT NULL
               AND d.bucket_start IS NOT DISTINCT FROM m_bucket AND d.group_key IS NOT DISTINCT FROM m_group
             GROUP BY d.value),
        folded AS NOT MATERIALIZED (
            SELECT s.value, s.n_rows FROM tally._state s
             WHERE s.metric_id = m_id AND s.value IS NOT NULL
               AND coalesce(s.bucket_start, '-infinity') = coalesce(m_bucket, '-infinity')
               AND coalesce(s.group_key, '') = coalesce(m_group, '')
               AND s.bucket_start IS NOT DISTINCT FROM m_bucket AND s.group_key IS NOT DISTINCT FROM m_group),
        candidates AS (
            (SELECT f.value FROM folded f
              WHERE NOT descending AND f.n_rows + coalesce((SELECT p.n FROM pending p WHERE p.value = f.value), 0) > 0
              ORDER BY f.value LIMIT 1)
            UNION ALL
            (SELECT f.value FROM folded f
              WHERE descending AND f.n_rows + coalesce((SELECT p.n FROM pending p WHERE p.value = f.value), 0) > 0
              ORDER BY f.value DESC LIMIT 1)
            UNION ALL
            SELECT p.value FROM pending p
             WHERE p.n + coalesce((SELECT f.n_rows FROM folded f WHERE f.value = p.value), 0) > 0)
        SELECT CASE WHEN descending THEN max(c.value) ELSE min(c.value) END FROM candidates c);
END
$fn$;

CREATE OR REPLACE FUNCTION tally._distinct_pending(m_id int, m_bucket timestamptz, m_group text)
RETURNS bigint LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    RETURN (
        SELECT coalesce(sum((coalesce(f.n_rows, 0) + p.n > 0)::int - (coalesce(f.n_rows, 0) > 0)::int), 0)
          FROM (SELECT d.value, sum(d.n_rows) AS n FROM tally._delta d
                 WHERE d.metric_id = m_id AND d.xact_id >= tally._fold_horizon() AND d.value IS NOT NULL
                   AND d.bucket_start IS NOT DISTINCT FROM m_bucket AND d.group_key IS NOT DISTINCT FROM m_group
                 GROUP BY d.value) p
          LEFT JOIN LATERAL (
                SELECT s.n_rows FROM tally._state s
                 WHERE s.metric_id = m_id AND s.value = p.value
                   AND coalesce(s.bucket_start, '-infinity') = coalesce(m_bucket, '-infinity')
                   AND coalesce(s.group_key, '') = coalesce(m_group, '')
                   AND s.bucket_start IS NOT DISTINCT FROM m_bucket AND s.group_key IS NOT DISTINCT FROM m_group
                OFFSET 0) f
            ON true);
END
$fn$;

CREATE OR REPLACE FUNCTION tally._distinct_across(m_id int, m_bucket timestamptz)
RETURNS bigint LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    RETURN (
        SELECT count(*) FROM (
            SELECT x.value FROM (
                SELECT s.value, s.n_rows FROM tally._state s
                 WHERE s.metric_id = m_id AND s.value IS NOT NULL AND s.bucket_start IS NOT DISTINCT FROM m_bucket
                UNION ALL
                SELECT d.value, d.n_rows FROM tally._delta d
                 WHERE d.metric_id = m_id AND d.xact_id >= tally._fold_horizon() AND d.value IS NOT NULL
                   AND d.bucket_start IS NOT DISTINCT FROM m_bucket) x
             GROUP BY x.value HAVING sum(x.n_rows) > 0) v);
END
$fn$;

CREATE OR REPLACE FUNCTION tally._snapshot_sql(dashboard text) RETURNS jsonb
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $fn$
DECLARE
    result jsonb;
    allowed boolean;
    me oid := tally._invoker();
BEGIN
    -- Readable by whoever may SELECT every source table, or the dashboard's typed view.
    SELECT pg_catalog.jsonb_build_object('as_of', pg_catalog.now())
           OPERATOR(pg_catalog.||) pg_catalog.jsonb_object_agg(mt.name, f.figure),
           pg_catalog.bool_and(pg_catalog.has_table_privilege(me, mt.source, 'SELECT'))
           OR pg_catalog.bool_or(coalesce(pg_catalog.has_table_privilege(me, pg_catalog.to_regclass(d.view_name), 'SELECT'), false))
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
                    HINT = 'Figures are readable by roles that may SELECT the source tables, or the dashboard''s typed view: GRANT SELECT ON the_view TO the_role.';
    END IF;
    RETURN result;
END
$fn$;

ALTER FUNCTION tally._snapshot_sql(text) SECURITY DEFINER;

-- The fold's updates of the counters become HOT (heap-only): no index covers n_rows any
-- more, and pages keep room for new versions. The fold finds the rows it emptied by their
-- row ids instead of through this partial index. Dropping it takes a brief ACCESS EXCLUSIVE
-- lock on tally._state; the fillfactor applies to pages written from now on.
DROP INDEX tally._state_empty;
ALTER TABLE tally._state SET (fillfactor = 90);
