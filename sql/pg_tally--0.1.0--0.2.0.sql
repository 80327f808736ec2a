-- pg_tally 0.1.0 -> 0.2.0: the aggregates min, max and count_distinct.
--
-- Counters gain a `value` column (NULL on the summary row every 0.1.0 counter becomes), the
-- value readers of sql/values.sql arrive, and tally.snapshot reads through them. Existing
-- metrics and their counters carry over unchanged: no recompute, no table scan.
-- tests/upgrade.sh checks that the result is the catalog a fresh 0.2.0 install creates.
\echo Use "ALTER EXTENSION pg_tally UPDATE TO '0.2.0'" to load this file. \quit

ALTER TABLE tally._metric
    DROP CONSTRAINT _metric_aggregate_check,
    ADD CONSTRAINT _metric_aggregate_check
        CHECK (aggregate IN ('count', 'sum', 'avg', 'min', 'max', 'count_distinct'));

ALTER TABLE tally._state ADD COLUMN value numeric;
ALTER TABLE tally._state
    DROP CONSTRAINT _state_key,
    ADD CONSTRAINT _state_key UNIQUE NULLS NOT DISTINCT (metric_id, bucket_start, value, group_key);
CREATE INDEX _state_values ON tally._state
    (metric_id, coalesce(bucket_start, '-infinity'), coalesce(group_key, ''), value)
    WHERE value IS NOT NULL;

-- Adding a nullable column without a default rewrites nothing; writers wait only for the
-- moment the lock is held.
ALTER TABLE tally._delta ADD COLUMN value numeric;

-- ---- sql/values.sql (as in a fresh 0.2.0 install) ----
-- Figures of the value-tracking aggregates (0.2.0): min, max and count_distinct.
--
-- Such a metric stores, besides the summary row of each (bucket, group) (value IS NULL), one
-- row per distinct value of its column holding how many source rows have that value. The
-- figure is read from the values whose net count (folded state plus pending deltas) is
-- positive, so deleting the current minimum needs no rescan of anything: the next value is
-- the next index entry. The fold keeps a count_distinct summary's total equal to the number
-- of values it holds; reads add what pending deltas change.
--
-- These run with the rights of the SECURITY DEFINER read functions that call them; the
-- fixed search_path keeps a caller's objects out of them.

-- The smallest (min) or largest (max) value of a group with a positive net count. Walks the
-- folded values in order through the _state_values index and stops at the first that
-- pending deltas have not taken to zero; values only in pending deltas are candidates too.
CREATE FUNCTION tally._extreme(m_id int, m_aggregate text, m_bucket timestamptz, m_group text)
RETURNS numeric LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    descending boolean := m_aggregate = 'max';
BEGIN
    RETURN (
        WITH pending AS (
            SELECT d.value, sum(d.n_rows) AS n FROM tally._delta d
             WHERE d.metric_id = m_id AND d.value IS NOT NULL
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

-- How pending deltas change the number of distinct values of a group: +1 for a value whose
-- net count becomes positive, -1 for one that drops to zero.
CREATE FUNCTION tally._distinct_pending(m_id int, m_bucket timestamptz, m_group text)
RETURNS bigint LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    RETURN (
        SELECT coalesce(sum((coalesce(f.n_rows, 0) + p.n > 0)::int - (coalesce(f.n_rows, 0) > 0)::int), 0)
          FROM (SELECT d.value, sum(d.n_rows) AS n FROM tally._delta d
                 WHERE d.metric_id = m_id AND d.value IS NOT NULL
                   AND d.bucket_start IS NOT DISTINCT FROM m_bucket AND d.group_key IS NOT DISTINCT FROM m_group
                 GROUP BY d.value) p
          LEFT JOIN LATERAL (
                SELECT s.n_rows FROM tally._state s
                 WHERE s.metric_id = m_id AND s.value = p.value
                   AND coalesce(s.bucket_start, '-infinity') = coalesce(m_bucket, '-infinity')
                   AND coalesce(s.group_key, '') = coalesce(m_group, '')
                   AND s.bucket_start IS NOT DISTINCT FROM m_bucket AND s.group_key IS NOT DISTINCT FROM m_group) f
            ON true);
END
$fn$;

-- Distinct values of a count_distinct metric across all its groups in one bucket (a value
-- present in two groups counts once): the total of a grouped count_distinct metric.
-- Reads every value of the bucket, so it costs O(distinct values), unlike the per-group read.
CREATE FUNCTION tally._distinct_across(m_id int, m_bucket timestamptz)
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
                 WHERE d.metric_id = m_id AND d.value IS NOT NULL AND d.bucket_start IS NOT DISTINCT FROM m_bucket) x
             GROUP BY x.value HAVING sum(x.n_rows) > 0) v);
END
$fn$;

-- A group's figure from its summary counters (n_values, total: folded plus pending), for
-- every aggregate. Plain SQL so the planner inlines it; CASE calls the value readers only
-- for the aggregates that need them.
CREATE FUNCTION tally._figure_of(m_id int, aggregate text, bucket timestamptz, group_key text,
                                 n_values numeric, total numeric)
RETURNS numeric LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN aggregate OPERATOR(pg_catalog.=) ANY ('{min,max}'::pg_catalog.text[])
                THEN tally._extreme(m_id, aggregate, bucket, group_key)
                WHEN aggregate OPERATOR(pg_catalog.=) 'count_distinct'
                THEN coalesce(total, 0) OPERATOR(pg_catalog.+) tally._distinct_pending(m_id, bucket, group_key)
                ELSE tally._figure(aggregate, n_values, total)
           END
$$;

-- ---- tally.snapshot, now reading every aggregate through tally._figure_of (sql/read.sql) ----
-- tally.snapshot: the one-row dashboard read. Written in PL/pgSQL on purpose: the jsonb is
-- built by Postgres and returned as is, so numeric figures stay exact (a round trip through
-- a JSON library would turn them into floats), and PL/pgSQL caches the plan per session.
-- Read-only: works on a hot standby. SECURITY DEFINER (see finalize.sql) without a
-- per-call SET search_path: every function and operator in it is schema-qualified.
--
-- Per metric, a LATERAL subquery reads the counters of the current bucket (or of the NULL
-- bucket of an unbucketed metric) from folded state and pending deltas: parameterized index
-- lookups on (metric_id, bucket_start), whatever the size of the source tables.
CREATE OR REPLACE FUNCTION tally.snapshot(dashboard text) RETURNS jsonb
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
                             WHERE x.metric_id OPERATOR(pg_catalog.=) mt.id AND x.bucket_start OPERATOR(pg_catalog.=) c.cur AND x.value IS NULL
                            UNION ALL
                            SELECT x.group_key, x.n_rows, x.n_values, x.total FROM tally._delta x
                             WHERE x.metric_id OPERATOR(pg_catalog.=) mt.id AND x.bucket_start IS NULL AND c.cur IS NULL AND x.value IS NULL) x
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

-- CREATE OR REPLACE reset SECURITY DEFINER (sql/finalize.sql sets it on a fresh install).
ALTER FUNCTION tally.snapshot(text) SECURITY DEFINER;
COMMENT ON FUNCTION tally.create_metric(text, regclass, text, text, text, text, text, text, text) IS
'Defines a metric on a table (count, sum, avg, min, max or count_distinct; optional filter, group_by, bucket) and backfills it. Returns the stored definition.';
