-- pg_tally 0.11.0 -> 0.12.0 (CHANGELOG "0.12.0"): min, max and count_distinct over
-- timestamptz, timestamp, date, time, interval, uuid, boolean and text, and sum and avg over
-- interval (values kept as numerics that order, equate or add as they do; the type in the
-- new table tally._value_type); the typed reads tally.value/groups/series(..., as_type).
\echo Use "ALTER EXTENSION pg_tally UPDATE TO '0.12.0'" to load this file. \quit

-- A table of its own: its foreign key takes SHARE ROW EXCLUSIVE on tally._metric, which
-- writers (who only read definitions) do not wait for, nor hold back. Nothing else in this
-- step locks a table writers use.
CREATE TABLE tally._value_type (
    metric_id  int PRIMARY KEY REFERENCES tally._metric (id) ON DELETE CASCADE,
    type_name  text NOT NULL
               CHECK (type_name IN ('timestamptz', 'timestamp', 'date', 'time', 'interval', 'uuid', 'boolean',
                                    'text', 'inet')),
    collation_name text[] CHECK (collation_name IS NULL OR (type_name = 'text' AND pg_catalog.cardinality(collation_name) = 2))
);
SELECT pg_catalog.pg_extension_config_dump('tally._value_type', '');

-- The encoders the change queries call (src/model/value_type.rs).
CREATE FUNCTION tally._tracked_value(value timestamptz) RETURNS numeric
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'tracked_timestamptz_wrapper';
CREATE FUNCTION tally._tracked_value(value timestamp) RETURNS numeric
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'tracked_timestamp_wrapper';
CREATE FUNCTION tally._tracked_value(value date) RETURNS numeric
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'tracked_date_wrapper';
CREATE FUNCTION tally._tracked_value(value time) RETURNS numeric
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'tracked_time_wrapper';
CREATE FUNCTION tally._tracked_value(
    "value" bool
) RETURNS NUMERIC
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'tracked_boolean_wrapper';
CREATE FUNCTION tally._tracked_value(
    "value" inet
) RETURNS NUMERIC
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'tracked_inet_wrapper';
CREATE FUNCTION tally._tracked_value(
    "value" interval
) RETURNS NUMERIC
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'tracked_interval_wrapper';
CREATE FUNCTION tally._tracked_value(
    "value" TEXT
) RETURNS NUMERIC
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'tracked_text_wrapper';
CREATE FUNCTION tally._tracked_value(
    "value" uuid
) RETURNS NUMERIC
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'tracked_uuid_wrapper';
CREATE FUNCTION tally._tracked_text_in_order(
    "metric" TEXT,
    "value" TEXT
) RETURNS NUMERIC
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', '_tracked_text_in_order_wrapper';
CREATE FUNCTION tally._text_of(
    "encoded" NUMERIC
) RETURNS TEXT
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', '_text_of_wrapper';
CREATE FUNCTION tally._summed_interval(
    "metric" TEXT,
    "value" interval
) RETURNS NUMERIC
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', '_summed_interval_wrapper';

-- The readers of typed figures (src/read/mod.rs, src/model/value_type.rs).
CREATE FUNCTION tally._figure_json(
    "value_type" TEXT,
    "aggregate" TEXT,
    "figure" NUMERIC
) RETURNS jsonb
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', '_figure_json_wrapper';
CREATE FUNCTION tally._interval_figure(
    "aggregate" TEXT,
    "count" NUMERIC,
    "total" NUMERIC
) RETURNS NUMERIC
IMMUTABLE PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', '_interval_figure_wrapper';
CREATE FUNCTION tally._value_text(
    "metric" TEXT,
    "asked" oid
) RETURNS TEXT
STABLE PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', '_value_text_wrapper';
CREATE FUNCTION tally._groups_text(
    "metric" TEXT,
    "asked" oid
) RETURNS TABLE (
    "group_key" TEXT,
    "value" TEXT
)
STABLE PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', '_groups_text_wrapper';
CREATE FUNCTION tally._series_text(
    "metric" TEXT,
    "since" timestamp with time zone,
    "until" timestamp with time zone,
    "asked" oid
) RETURNS TABLE (
    "bucket_start" timestamp with time zone,
    "group_key" TEXT,
    "value" TEXT
)
STABLE PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', '_series_text_wrapper';
ALTER FUNCTION tally._value_text(text, oid) SET search_path = pg_catalog, pg_temp SET jit = off;
ALTER FUNCTION tally._groups_text(text, oid) SET search_path = pg_catalog, pg_temp SET jit = off;
ALTER FUNCTION tally._series_text(text, timestamptz, timestamptz, oid) SET search_path = pg_catalog, pg_temp SET jit = off;

-- The expression that orders the values of metric m_id as the values themselves order
-- (0.12.0), over a column v of their encodings (src/model/value_type.rs), for the metrics whose
-- encodings do not: a text in a collation that is not byte order (tally._value_type.collation_name,
-- a built-in collation, quoted here), inet. NULL for every other metric.
CREATE FUNCTION tally._sort_key(m_id int) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN t.collation_name IS NOT NULL
                THEN pg_catalog.format('tally._text_of(v) COLLATE %I.%I', t.collation_name[1], t.collation_name[2])
                WHEN t.type_name OPERATOR(pg_catalog.=) 'inet'
                THEN 'tally._text_of(v)::pg_catalog.inet'
           END
      FROM tally._value_type t WHERE t.metric_id OPERATOR(pg_catalog.=) m_id
$$;

-- The smallest (min) or largest (max) value of a group with a positive net count, by the
-- metric's tally._sort_key: every such value of the group is read and ordered, so this
-- costs O(distinct values of the group), where tally._extreme walks an index. The key is
-- built here from the catalog, never passed in.
CREATE FUNCTION tally._sorted_extreme(m_id int, m_aggregate text, m_bucket timestamptz, m_group text)
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
                SELECT d.value, d.n_rows FROM tally._delta d
                 WHERE d.metric_id = $1 AND d.xact_id >= tally._fold_horizon() AND d.value IS NOT NULL
                   AND d.bucket_start IS NOT DISTINCT FROM $2 AND d.group_key IS NOT DISTINCT FROM $3) x
             GROUP BY x.value HAVING sum(x.n_rows) > 0) AS c(v)
         ORDER BY %s %s LIMIT 1$q$, sort_key, CASE WHEN m_aggregate = 'max' THEN 'DESC' ELSE 'ASC' END)
       INTO result USING m_id, m_bucket, m_group;
    RETURN result;
END
$fn$;

-- The min or max figure of a group: by tally._extreme's index walk, or by
-- tally._sorted_extreme for the values whose encodings do not order as they do.
CREATE FUNCTION tally._extreme_of(m_id int, m_aggregate text, m_bucket timestamptz, m_group text)
RETURNS numeric LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF tally._sort_key(m_id) IS NULL THEN
        RETURN tally._extreme(m_id, m_aggregate, m_bucket, m_group);
    END IF;
    RETURN tally._sorted_extreme(m_id, m_aggregate, m_bucket, m_group);
END
$fn$;

-- The min or max among `candidates` (the figures of a metric's groups) by the values' own
-- order: the figure of a grouped min or max metric over all its groups.
CREATE FUNCTION tally._sorted_pick(m_name text, m_aggregate text, candidates numeric[])
RETURNS numeric LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    sort_key text := tally._sort_key((SELECT m.id FROM tally._metric m WHERE m.name = m_name));
    result numeric;
BEGIN
    IF sort_key IS NULL THEN
        RETURN CASE WHEN m_aggregate = 'max' THEN (SELECT max(c.v) FROM unnest(candidates) AS c(v))
                    ELSE (SELECT min(c.v) FROM unnest(candidates) AS c(v)) END;
    END IF;
    EXECUTE format('SELECT v FROM unnest($1) AS c(v) WHERE v IS NOT NULL ORDER BY %s %s LIMIT 1',
                   sort_key, CASE WHEN m_aggregate = 'max' THEN 'DESC' ELSE 'ASC' END)
       INTO result USING candidates;
    RETURN result;
END
$fn$;

-- A group's figure from its summary counters (n_values, total: folded plus pending), for
-- every aggregate. Plain SQL so the planner inlines it; CASE calls the value readers only
-- for the aggregates that need them.
CREATE OR REPLACE FUNCTION tally._figure_of(m_id int, aggregate text, bucket timestamptz, group_key text,
                                 n_values numeric, total numeric)
RETURNS numeric LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN aggregate OPERATOR(pg_catalog.=) ANY ('{min,max}'::pg_catalog.text[])
                THEN tally._extreme_of(m_id, aggregate, bucket, group_key)
                WHEN aggregate OPERATOR(pg_catalog.=) 'count_distinct'
                THEN coalesce(total, 0) OPERATOR(pg_catalog.+) tally._distinct_pending(m_id, bucket, group_key)
                ELSE tally._figure(aggregate, n_values, total)
           END
$$;

-- A figure in the snapshot's jsonb (0.12.0): a number, or for a min or max metric over
-- values of another type (tally._value_type), its encoding decoded into that type
-- (src/model/value_type.rs: an ISO 8601 string for dates, times and intervals, a timestamptz
-- in UTC; a string for a uuid or a text; true or false). NULL stays NULL.
CREATE FUNCTION tally._typed_figure(type_name pg_catalog.text, aggregate pg_catalog.text, figure pg_catalog.numeric)
RETURNS pg_catalog.jsonb LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
    SELECT CASE WHEN type_name IS NULL THEN pg_catalog.to_jsonb(figure) ELSE tally._figure_json(type_name, aggregate, figure) END
$fn$;

-- A group's figure for the snapshot (0.12.0): tally._figure_of's, but a sum or avg over
-- intervals from its counters (tally._interval_figure), which tally._figure would divide
-- as numbers.
CREATE FUNCTION tally._snapshot_figure(m_id pg_catalog.int4, aggregate pg_catalog.text, type_name pg_catalog.text,
                                       bucket pg_catalog.timestamptz, group_key pg_catalog.text,
                                       n_values pg_catalog.numeric, total pg_catalog.numeric)
RETURNS pg_catalog.jsonb LANGUAGE sql STABLE PARALLEL SAFE AS $fn$
    SELECT tally._typed_figure(type_name, aggregate,
               CASE WHEN type_name OPERATOR(pg_catalog.=) 'interval'
                         AND aggregate OPERATOR(pg_catalog.=) ANY ('{sum,avg}'::pg_catalog.text[])
                    THEN tally._interval_figure(aggregate, n_values, total)
                    ELSE tally._figure_of(m_id, aggregate, bucket, group_key, n_values, total) END)
$fn$;
-- The reads (as the extension owner) decode typed figures and order sorted ones with these
-- (0.12.0); nobody else needs them.
REVOKE EXECUTE ON FUNCTION tally._figure_json(text, text, numeric), tally._interval_figure(text, numeric, numeric),
    tally._typed_figure(text, text, numeric),
    tally._snapshot_figure(integer, text, text, timestamptz, text, numeric, numeric),
    tally._sort_key(integer), tally._sorted_extreme(integer, text, timestamptz, text),
    tally._sorted_pick(text, text, numeric[]), tally._text_of(numeric) FROM PUBLIC;

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
                        WHEN mt.group_by IS NULL
                        THEN coalesce(tally._snapshot_figure(mt.id, mt.aggregate, vt.type_name, c.cur, NULL, pg_catalog.sum(g.v), pg_catalog.sum(g.t)),
                                      'null'::pg_catalog.jsonb)
                        ELSE tally._nested_groups(
                                 coalesce(pg_catalog.jsonb_object_agg(coalesce(g.k, 'null'),
                                                                      tally._snapshot_figure(mt.id, mt.aggregate, vt.type_name, c.cur, g.k, g.v, g.t))
                                            FILTER (WHERE g.r OPERATOR(pg_catalog.<>) 0), '{}'::pg_catalog.jsonb),
                                 mt.group_columns IS NOT NULL)
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
    -- A broken metric (tally._broken, 0.9.0) reads as null, and why under "errors".
    IF errors IS NOT NULL THEN
        result := result OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('errors', errors);
    END IF;
    RETURN result;
END
$fn$;
ALTER FUNCTION tally._snapshot_query(text, oid) SET search_path = pg_catalog, pg_temp SET jit = off;

-- The typed reads (0.12.0): a metric's figures in the type the caller names with a NULL of
-- it, such as tally.value('last_order_at', NULL::timestamptz). The figures come as the text
-- of their type from the Rust reads (src/read/mod.rs: _value_text, _groups_text,
-- _series_text), which check that the type fits the figures (their own type, text or
-- varchar; a numeric figure also an integer or float type), and are cast here by the type's
-- input, which reads that text back under any session settings (ISO 8601). The cast runs
-- with the caller's rights (these are not SECURITY DEFINER), and the type is named by
-- format's %s of a regtype, which quotes and qualifies it.
CREATE FUNCTION tally.value(metric pg_catalog.text, as_type anyelement) RETURNS anyelement
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    figure ALIAS FOR $0;
BEGIN
    EXECUTE pg_catalog.format('SELECT $1::%s', pg_catalog.pg_typeof(as_type))
       INTO figure USING tally._value_text(metric, pg_catalog.pg_typeof(as_type));
    RETURN figure;
END
$fn$;

CREATE FUNCTION tally.groups(metric pg_catalog.text, as_type anyelement)
RETURNS TABLE (group_key pg_catalog.text, value anyelement)
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    RETURN QUERY EXECUTE pg_catalog.format('SELECT g.group_key, g.value::%s FROM tally._groups_text($1, $2) g',
                                           pg_catalog.pg_typeof(as_type))
           USING metric, pg_catalog.pg_typeof(as_type);
END
$fn$;

CREATE FUNCTION tally.series(metric pg_catalog.text, since pg_catalog.timestamptz, until pg_catalog.timestamptz,
                             as_type anyelement)
RETURNS TABLE (bucket_start pg_catalog.timestamptz, group_key pg_catalog.text, value anyelement)
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    RETURN QUERY EXECUTE pg_catalog.format('SELECT s.bucket_start, s.group_key, s.value::%s FROM tally._series_text($1, $2, $3, $4) s',
                                           pg_catalog.pg_typeof(as_type))
           USING metric, since, until, pg_catalog.pg_typeof(as_type);
END
$fn$;
COMMENT ON FUNCTION tally.value(text, anyelement) IS 'The current figure of a metric over all groups, in the type of as_type (pass a NULL of the figure''s type, such as NULL::timestamptz).';
COMMENT ON FUNCTION tally.groups(text, anyelement) IS 'The current figure of a metric per group, in the type of as_type.';
COMMENT ON FUNCTION tally.series(text, timestamptz, timestamptz, anyelement) IS 'Figures per bucket and group for buckets overlapping [since, until), in the type of as_type.';
