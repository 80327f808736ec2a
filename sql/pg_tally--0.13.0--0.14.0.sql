-- pg_tally 0.13.0 -> 0.14.0 (CHANGELOG "0.14.0"): min, max and count_distinct over jsonb,
-- count_distinct over arrays and ranges;
-- reads of a grouped min, max or count_distinct no longer slow down with pending changes.
-- Each reader of a group's values took the group's pending changes from tally._delta
-- itself, which unnests every pending change of the database, so a read of all groups cost
-- O(groups x pending changes); now the read gathers every group's pending values in its one
-- pass over the metric's pending changes and hands each group its own (the readers' new
-- last two arguments).
\echo Use "ALTER EXTENSION pg_tally UPDATE TO '0.14.0'" to load this file. \quit

-- jsonb, arrays and ranges (0.14.0). The constraint is named as a fresh install names it. This locks
-- tally._value_type until the update commits: a writer that loads its table's metrics
-- meanwhile (once per session, or after a change of definitions) waits that long.
ALTER TABLE tally._value_type
    DROP CONSTRAINT _value_type_type_name_check,
    ADD CONSTRAINT _value_type_type_name_check
        CHECK (type_name IN ('timestamptz', 'timestamp', 'date', 'time', 'interval', 'uuid', 'boolean',
                             'text', 'inet', 'cidr', 'macaddr', 'macaddr8', 'enum', 'bytea', 'varbit',
                             'float4', 'float8', 'jsonb', 'array', 'range'));

-- A jsonb value as the change queries keep it (src/model/value_type.rs), given as its text.
CREATE FUNCTION tally._tracked_jsonb("value" text) RETURNS numeric
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '_tracked_jsonb_wrapper';
CREATE FUNCTION tally._tracked_jsonb_in_order("metric" text, "value" text) RETURNS numeric
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '_tracked_jsonb_in_order_wrapper';
-- An array or range of a count_distinct metric as the change queries keep it, read from
-- its datum.
CREATE FUNCTION tally._tracked_array("value" anyarray) RETURNS numeric
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '_tracked_array_wrapper';
CREATE FUNCTION tally._tracked_range("value" anyelement) RETURNS numeric
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '_tracked_range_wrapper';

-- jsonb's min and max are picked when read, by jsonb's order; its figures in the snapshot
-- are the JSON values themselves.
CREATE OR REPLACE FUNCTION tally._sort_key(m_id int) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN t.collation_name IS NOT NULL
                THEN pg_catalog.format('tally._text_of(v) COLLATE %I.%I', t.collation_name[1], t.collation_name[2])
                WHEN t.type_name OPERATOR(pg_catalog.=) 'inet'
                THEN 'tally._text_of(v)::pg_catalog.inet'
                WHEN t.type_name OPERATOR(pg_catalog.=) 'cidr'
                THEN 'tally._text_of(v)::pg_catalog.cidr'
                WHEN t.type_name OPERATOR(pg_catalog.=) 'jsonb'
                THEN 'tally._text_of(v)::pg_catalog.jsonb'
                WHEN t.type_name OPERATOR(pg_catalog.=) 'enum'
                THEN pg_catalog.format('(SELECT e.enumsortorder FROM pg_catalog.pg_enum e '
                                       'WHERE e.enumtypid OPERATOR(pg_catalog.=) %s '
                                       'AND e.enumlabel OPERATOR(pg_catalog.=) tally._text_of(v))',
                                       coalesce((SELECT x.enum_type::pg_catalog.oid FROM tally._value_enum x
                                                  WHERE x.metric_id OPERATOR(pg_catalog.=) m_id), 0))
           END
      FROM tally._value_type t WHERE t.metric_id OPERATOR(pg_catalog.=) m_id
$$;

CREATE OR REPLACE FUNCTION tally._typed_figure(type_name pg_catalog.text, aggregate pg_catalog.text, figure pg_catalog.numeric)
RETURNS pg_catalog.jsonb LANGUAGE sql STABLE PARALLEL SAFE AS $fn$
    SELECT CASE WHEN type_name IS NULL THEN pg_catalog.to_jsonb(figure)
                WHEN type_name OPERATOR(pg_catalog.=) 'float8' THEN pg_catalog.to_jsonb(tally._float_of(figure))
                WHEN type_name OPERATOR(pg_catalog.=) 'float4'
                THEN pg_catalog.to_jsonb(tally._float_of(figure)::pg_catalog.float4)
                WHEN type_name OPERATOR(pg_catalog.=) 'jsonb' THEN tally._text_of(figure)::pg_catalog.jsonb
                ELSE tally._figure_json(type_name, aggregate, figure) END
$fn$;

-- The readers with their old signatures. Only the functions below and the reads call them.
DROP FUNCTION tally._snapshot_figure(integer, text, text, timestamptz, text, numeric, numeric);
DROP FUNCTION tally._figure_of(integer, text, timestamptz, text, numeric, numeric);
DROP FUNCTION tally._extreme_of(integer, text, timestamptz, text);
DROP FUNCTION tally._extreme(integer, text, timestamptz, text);
DROP FUNCTION tally._sorted_extreme(integer, text, timestamptz, text);
DROP FUNCTION tally._distinct_pending(integer, timestamptz, text);

CREATE FUNCTION tally._extreme(m_id int, m_aggregate text, m_bucket timestamptz, m_group text,
                               pending_values numeric[], pending_rows bigint[])
RETURNS numeric LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    descending boolean := m_aggregate = 'max';
BEGIN
    RETURN (
        WITH pending AS (
            SELECT x.value, sum(x.n_rows) AS n FROM (
                SELECT p.value, p.n_rows FROM unnest(pending_values, pending_rows) AS p(value, n_rows)
                UNION ALL
                SELECT d.value, d.n_rows FROM tally._delta d
                 WHERE pending_values IS NULL
                   AND d.metric_id = m_id AND d.xact_id >= tally._fold_horizon() AND d.value IS NOT NULL
                   AND d.bucket_start IS NOT DISTINCT FROM m_bucket AND d.group_key IS NOT DISTINCT FROM m_group) x
             GROUP BY x.value),
        folded AS NOT MATERIALIZED (
            SELECT s.value, s.n_rows FROM tally._state s
             WHERE s.metric_id = m_id AND s.value IS NOT NULL
               AND coalesce(s.bucket_start, '-infinity') = coalesce(m_bucket, '-infinity')
               AND coalesce(tally._group_index_key(s.group_key), '') = coalesce(tally._group_index_key(m_group), '')
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
CREATE FUNCTION tally._sorted_extreme(m_id int, m_aggregate text, m_bucket timestamptz, m_group text,
                                      pending_values numeric[], pending_rows bigint[])
RETURNS numeric LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    sort_key text := tally._sort_key(m_id);
    result numeric;
BEGIN
    EXECUTE format($q$
        SELECT c.v FROM (
            SELECT x.value FROM (
                SELECT s.value, s.n_rows FROM tally._state s
                 WHERE s.metric_id = $1 AND s.value IS NOT NULL
                   AND coalesce(s.bucket_start, '-infinity') = coalesce($2, '-infinity')
                   AND coalesce(tally._group_index_key(s.group_key), '') = coalesce(tally._group_index_key($3), '')
                   AND s.bucket_start IS NOT DISTINCT FROM $2 AND s.group_key IS NOT DISTINCT FROM $3
                UNION ALL
                SELECT p.value, p.n_rows FROM unnest($4, $5) AS p(value, n_rows)
                UNION ALL
                SELECT d.value, d.n_rows FROM tally._delta d
                 WHERE $4 IS NULL
                   AND d.metric_id = $1 AND d.xact_id >= tally._fold_horizon() AND d.value IS NOT NULL
                   AND d.bucket_start IS NOT DISTINCT FROM $2 AND d.group_key IS NOT DISTINCT FROM $3) x
             GROUP BY x.value HAVING sum(x.n_rows) > 0) AS c(v)
         ORDER BY %s %s NULLS LAST LIMIT 1$q$, sort_key, CASE WHEN m_aggregate = 'max' THEN 'DESC' ELSE 'ASC' END)
       INTO result USING m_id, m_bucket, m_group, pending_values, pending_rows;
    RETURN result;
END
$fn$;
CREATE FUNCTION tally._extreme_of(m_id int, m_aggregate text, m_bucket timestamptz, m_group text,
                                  pending_values numeric[], pending_rows bigint[])
RETURNS numeric LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF tally._sort_key(m_id) IS NULL THEN
        RETURN tally._extreme(m_id, m_aggregate, m_bucket, m_group, pending_values, pending_rows);
    END IF;
    RETURN tally._sorted_extreme(m_id, m_aggregate, m_bucket, m_group, pending_values, pending_rows);
END
$fn$;

CREATE FUNCTION tally._distinct_pending(m_id int, m_bucket timestamptz, m_group text,
                                        pending_values numeric[], pending_rows bigint[])
RETURNS bigint LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    RETURN (
        SELECT coalesce(sum((coalesce(f.n_rows, 0) + p.n > 0)::int - (coalesce(f.n_rows, 0) > 0)::int), 0)
          FROM (SELECT x.value, sum(x.n_rows) AS n FROM (
                    SELECT u.value, u.n_rows FROM unnest(pending_values, pending_rows) AS u(value, n_rows)
                    UNION ALL
                    SELECT d.value, d.n_rows FROM tally._delta d
                     WHERE pending_values IS NULL
                       AND d.metric_id = m_id AND d.xact_id >= tally._fold_horizon() AND d.value IS NOT NULL
                       AND d.bucket_start IS NOT DISTINCT FROM m_bucket AND d.group_key IS NOT DISTINCT FROM m_group) x
                 GROUP BY x.value) p
          LEFT JOIN LATERAL (
                SELECT s.n_rows FROM tally._state s
                 WHERE s.metric_id = m_id AND s.value = p.value
                   AND coalesce(s.bucket_start, '-infinity') = coalesce(m_bucket, '-infinity')
                   AND coalesce(tally._group_index_key(s.group_key), '') = coalesce(tally._group_index_key(m_group), '')
                   AND s.bucket_start IS NOT DISTINCT FROM m_bucket AND s.group_key IS NOT DISTINCT FROM m_group
                OFFSET 0) f
            ON true);
END
$fn$;
CREATE FUNCTION tally._figure_of(m_id int, aggregate text, bucket timestamptz, group_key text,
                                 n_values numeric, total numeric,
                                 pending_values numeric[], pending_rows bigint[])
RETURNS numeric LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN aggregate OPERATOR(pg_catalog.=) ANY ('{min,max}'::pg_catalog.text[])
                THEN tally._extreme_of(m_id, aggregate, bucket, group_key, pending_values, pending_rows)
                WHEN aggregate OPERATOR(pg_catalog.=) 'count_distinct'
                THEN coalesce(total, 0) OPERATOR(pg_catalog.+)
                     tally._distinct_pending(m_id, bucket, group_key, pending_values, pending_rows)
                ELSE tally._figure(aggregate, n_values, total)
           END
$$;

CREATE FUNCTION tally._snapshot_figure(m_id pg_catalog.int4, aggregate pg_catalog.text, type_name pg_catalog.text,
                                       bucket pg_catalog.timestamptz, group_key pg_catalog.text,
                                       n_values pg_catalog.numeric, total pg_catalog.numeric,
                                       pending_values pg_catalog.numeric[], pending_rows pg_catalog.int8[])
RETURNS pg_catalog.jsonb LANGUAGE sql STABLE PARALLEL SAFE AS $fn$
    SELECT tally._typed_figure(type_name, aggregate,
               CASE WHEN type_name OPERATOR(pg_catalog.=) 'interval'
                         AND aggregate OPERATOR(pg_catalog.=) ANY ('{sum,avg}'::pg_catalog.text[])
                    THEN tally._interval_figure(aggregate, n_values, total)
                    ELSE tally._figure_of(m_id, aggregate, bucket, group_key, n_values, total,
                                          pending_values, pending_rows) END)
$fn$;

CREATE OR REPLACE FUNCTION tally._snapshot_query(dashboard pg_catalog.text, reader pg_catalog.oid) RETURNS pg_catalog.jsonb
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $fn$
DECLARE
    result pg_catalog.jsonb;
    allowed pg_catalog.bool;
    errors pg_catalog.jsonb;
BEGIN
    -- Readable by whoever may read every source table, or may SELECT the dashboard's typed
    -- view while the dashboard's owner may still read every source table (a view does not
    -- keep publishing figures its owner lost the right to read).
    SELECT pg_catalog.jsonb_build_object('as_of', pg_catalog.now())
           OPERATOR(pg_catalog.||) pg_catalog.jsonb_object_agg(mt.name, f.figure),
           pg_catalog.bool_and(tally._may_read(reader, mt.source))
           OR (pg_catalog.bool_or(coalesce(pg_catalog.has_table_privilege(reader, d.view_name::pg_catalog.oid, 'SELECT'), false))
               AND pg_catalog.bool_and(tally._may_read(d.owner::pg_catalog.oid, mt.source))),
           pg_catalog.jsonb_object_agg(mt.name, pg_catalog.format('broken: %s; run tally.refresh(%L)', b.reason, mt.name))
               FILTER (WHERE b.reason IS NOT NULL)
      INTO result, allowed, errors
      FROM tally._dashboard d
     CROSS JOIN LATERAL pg_catalog.unnest(d.metrics) AS u(name)
      JOIN tally._metric mt ON mt.name OPERATOR(pg_catalog.=) u.name
      LEFT JOIN tally._broken b ON b.metric_id OPERATOR(pg_catalog.=) mt.id
     LEFT JOIN tally._value_type vt
            ON vt.metric_id OPERATOR(pg_catalog.=) mt.id AND mt.aggregate OPERATOR(pg_catalog.<>) 'count_distinct'
     CROSS JOIN LATERAL (SELECT tally._current_bucket(mt.bucket, mt.time_zone) AS cur) c
     CROSS JOIN LATERAL (
            SELECT CASE WHEN b.reason IS NOT NULL THEN 'null'::pg_catalog.jsonb
                        -- An ungrouped metric has one group (g.k NULL): min() of its
                        -- pending arrays is that group's.
                        WHEN mt.group_by IS NULL
                        THEN coalesce(tally._snapshot_figure(mt.id, mt.aggregate, vt.type_name, c.cur, NULL, pg_catalog.sum(g.v), pg_catalog.sum(g.t),
                                                             pg_catalog.min(g.pv), pg_catalog.min(g.pr)),
                                      'null'::pg_catalog.jsonb)
                        ELSE tally._nested_groups(
                                 coalesce(pg_catalog.jsonb_object_agg(coalesce(g.k, 'null'),
                                                                      tally._snapshot_figure(mt.id, mt.aggregate, vt.type_name, c.cur, g.k, g.v, g.t, g.pv, g.pr))
                                            FILTER (WHERE g.r OPERATOR(pg_catalog.<>) 0), '{}'::pg_catalog.jsonb),
                                 mt.group_columns IS NOT NULL)
                   END AS figure
              FROM (SELECT x.group_key AS k, pg_catalog.sum(x.n_rows) FILTER (WHERE x.value IS NULL) AS r,
                           pg_catalog.sum(x.n_values) FILTER (WHERE x.value IS NULL) AS v,
                           pg_catalog.sum(x.total) FILTER (WHERE x.value IS NULL) AS t,
                           -- At most 100,000 pending values per group (tally._extreme):
                           -- past that NULL, and the group's reader looks them up itself.
                           CASE WHEN pg_catalog.count(*) FILTER (WHERE x.nth OPERATOR(pg_catalog.>) 100000) OPERATOR(pg_catalog.=) 0
                                THEN coalesce(pg_catalog.array_agg(x.value) FILTER (WHERE x.nth OPERATOR(pg_catalog.<=) 100000), '{}')
                           END AS pv,
                           CASE WHEN pg_catalog.count(*) FILTER (WHERE x.nth OPERATOR(pg_catalog.>) 100000) OPERATOR(pg_catalog.=) 0
                                THEN coalesce(pg_catalog.array_agg(x.n_rows) FILTER (WHERE x.nth OPERATOR(pg_catalog.<=) 100000), '{}')
                           END AS pr
                      FROM (SELECT y.*, CASE WHEN y.value IS NOT NULL
                                             THEN pg_catalog.row_number() OVER (PARTITION BY y.group_key, y.value IS NULL) END AS nth
                              FROM (SELECT s.group_key, s.n_rows, s.n_values, s.total, NULL::pg_catalog.numeric AS value FROM tally._state s
                             WHERE s.metric_id OPERATOR(pg_catalog.=) mt.id AND s.bucket_start OPERATOR(pg_catalog.=) c.cur AND s.value IS NULL
                            UNION ALL
                            SELECT s.group_key, s.n_rows, s.n_values, s.total, NULL FROM tally._state s
                             WHERE s.metric_id OPERATOR(pg_catalog.=) mt.id AND s.bucket_start IS NULL AND c.cur IS NULL AND s.value IS NULL
                            UNION ALL
                            SELECT x.group_key, x.n_rows, x.n_values, x.total, x.value FROM tally._delta x
                             WHERE x.metric_id OPERATOR(pg_catalog.=) mt.id AND x.xact_id OPERATOR(pg_catalog.>=) tally._fold_horizon()
                               AND x.bucket_start OPERATOR(pg_catalog.=) c.cur
                            UNION ALL
                            SELECT x.group_key, x.n_rows, x.n_values, x.total, x.value FROM tally._delta x
                             WHERE x.metric_id OPERATOR(pg_catalog.=) mt.id AND x.xact_id OPERATOR(pg_catalog.>=) tally._fold_horizon()
                               AND x.bucket_start IS NULL AND c.cur IS NULL) y) x
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
    -- A broken metric (tally._broken, 0.9.0) reads as null, and why under "errors".
    IF errors IS NOT NULL THEN
        result := result OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('errors', errors);
    END IF;
    RETURN result;
END
$fn$;
-- CREATE OR REPLACE resets a function's settings: the ones finalize.sql gives it.
ALTER FUNCTION tally._snapshot_query(text, oid) SET search_path = pg_catalog, pg_temp SET jit = off;
-- As finalize.sql: only the reads (as the extension owner) need these.
REVOKE EXECUTE ON FUNCTION tally._snapshot_figure(integer, text, text, timestamptz, text, numeric, numeric, numeric[], bigint[]),
    tally._sorted_extreme(integer, text, timestamptz, text, numeric[], bigint[]) FROM PUBLIC;
