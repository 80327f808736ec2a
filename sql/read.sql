-- The figures of a metric grouped by several columns (0.11.0), `flat` keyed by group key
-- (the JSON array of the columns' text forms), as nested objects: {"PAID": {"web": 10}} from
-- {"[\"PAID\", \"web\"]": 10}; a NULL column reads as "null", as a NULL group does. Any other
-- metric's `flat` is returned as it is (`several` false).
CREATE FUNCTION tally._nested_groups(flat pg_catalog.jsonb, several pg_catalog.bool) RETURNS pg_catalog.jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    nested jsonb := '{}';
    group_key text;
    figure jsonb;
    path text[];
BEGIN
    IF NOT several OR flat IS NULL THEN
        RETURN flat;
    END IF;
    FOR group_key, figure IN SELECT e.key, e.value FROM jsonb_each(flat) e LOOP
        path := ARRAY(SELECT coalesce(p.part, 'null')
                        FROM jsonb_array_elements_text(group_key::jsonb) WITH ORDINALITY p(part, n)
                       ORDER BY p.n);
        FOR depth IN 1 .. array_length(path, 1) - 1 LOOP
            IF nested #> path[1:depth] IS NULL THEN
                nested := jsonb_set(nested, path[1:depth], '{}');
            END IF;
        END LOOP;
        nested := jsonb_set(nested, path, figure);
    END LOOP;
    RETURN nested;
END
$fn$;

-- A figure in the snapshot's jsonb (0.12.0): a number, or for a min or max metric over
-- values of another type (tally._value_type), its encoding decoded into that type
-- (src/model/value_type.rs: an ISO 8601 string for dates, times and intervals, a timestamptz
-- in UTC; a string for a uuid or a text; true or false); a float (0.13.0) as to_jsonb writes
-- that float (a real's figure is the real widened, cast back exactly); a jsonb (0.14.0) as
-- itself, from its text (a JSON number stays the numeric it was). NULL stays NULL.
-- STABLE (0.13.0; IMMUTABLE before): to_jsonb of a float reads extra_float_digits, which
-- the reads pin (ffi::with_fixed_settings).
CREATE FUNCTION tally._typed_figure(type_name pg_catalog.text, aggregate pg_catalog.text, figure pg_catalog.numeric)
RETURNS pg_catalog.jsonb LANGUAGE sql STABLE PARALLEL SAFE AS $fn$
    SELECT CASE WHEN type_name IS NULL THEN pg_catalog.to_jsonb(figure)
                WHEN type_name OPERATOR(pg_catalog.=) 'float8' THEN pg_catalog.to_jsonb(tally._float_of(figure))
                WHEN type_name OPERATOR(pg_catalog.=) 'float4'
                THEN pg_catalog.to_jsonb(tally._float_of(figure)::pg_catalog.float4)
                WHEN type_name OPERATOR(pg_catalog.=) 'jsonb' THEN tally._text_of(figure)::pg_catalog.jsonb
                ELSE tally._figure_json(type_name, aggregate, figure) END
$fn$;

-- A group's figure for the snapshot (0.12.0): tally._figure_of's, but a sum or avg over
-- intervals from its counters (tally._interval_figure), which tally._figure would divide
-- as numbers.
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

-- tally._snapshot_query: the same read as one query (0.1.0-0.2.0's tally.snapshot), for the
-- reader `reader`. Written in PL/pgSQL on purpose: the jsonb is built by Postgres and returned
-- as is, so numeric figures stay exact (a round trip through a JSON library would turn them
-- into floats), and PL/pgSQL caches the plan per session. Only the extension owner may run it
-- (finalize.sql): tally._snapshot_sql reaches it through tally._snapshot_text (src/read/snapshot.rs),
-- which passes the calling role as `reader` and runs it with the extension owner's rights.
-- search_path = pg_catalog, pg_temp (finalize.sql); every function, operator and type in it
-- is schema-qualified too. It sets jit = off
-- (finalize.sql): a bloated queue table makes the planner price it past jit_above_cost.
--
-- Per metric, a LATERAL subquery reads the counters of the current bucket (or of the NULL
-- bucket of an unbucketed metric) from folded state and pending changes: parameterized index
-- lookups on (metric_id, bucket_start) in _state and on xact_id from the fold horizon in
-- _change (through the view _delta), whatever the size of the source tables. The one pass
-- over pending changes also gathers each group's pending values (0.14.0), which the figures
-- of min, max and count_distinct take (tally._extreme).
CREATE FUNCTION tally._snapshot_query(dashboard pg_catalog.text, reader pg_catalog.oid) RETURNS pg_catalog.jsonb
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

-- tally._snapshot_sql: the query-based read for the calling role (jsonb text from
-- tally._snapshot_text, cast back: numerics stay exact).
CREATE FUNCTION tally._snapshot_sql(dashboard pg_catalog.text) RETURNS pg_catalog.jsonb
LANGUAGE sql STABLE PARALLEL SAFE
AS $fn$ SELECT tally._snapshot_text(dashboard)::pg_catalog.jsonb $fn$;

-- tally.snapshot: the one-row dashboard read. A SQL function the planner inlines into the
-- caller's query: the figures come from tally._snapshot_counters (src/read/snapshot.rs: index
-- lookups without the executor) as JSON text whose numbers are Postgres' own numeric output,
-- so the cast keeps them exact. That function returns NULL for a dashboard with a min, max
-- or count_distinct metric, which tally._snapshot_sql above reads instead.
-- Read-only: works on a hot standby. Neither part needs SECURITY DEFINER for the fast path
-- (direct index access checks the reader's rights itself); operators are schema-qualified.
CREATE FUNCTION tally.snapshot(dashboard pg_catalog.text) RETURNS pg_catalog.jsonb
LANGUAGE sql STABLE PARALLEL SAFE
AS $fn$
    SELECT coalesce(pg_catalog.jsonb_build_object('as_of', pg_catalog.now())
                    OPERATOR(pg_catalog.||) tally._snapshot_counters(dashboard)::pg_catalog.jsonb,
                    tally._snapshot_sql(dashboard))
$fn$;

-- The typed reads (0.12.0): a metric's figures in the type the caller names with a NULL of
-- it, such as tally.value('last_order_at', NULL::timestamptz). The figures come as the text
-- of their type from the Rust reads (src/read/mod.rs: _value_text, _groups_text,
-- _series_text), which check that the type fits the figures (their own type, text, varchar
-- or char; a numeric figure also an integer or float type), and are made values of it here
-- by the SQL tally._figure_cast writes: the type's input, which reads that text back under
-- any session settings (ISO 8601). It runs with the caller's rights (these are not SECURITY
-- DEFINER), and the type is named by format's %s of a regtype, which quotes and qualifies it.

-- The SQL that makes `figure`, an expression of a figure's text, a value of the type `asked`
-- (0.13.0): its cast, but for an enum (or a domain over one) the label made the enum's value
-- by tally._enum_value (Postgres' enum_in) first, since a cast from text to the enum could be
-- one its owner created, which would run with the reader's rights; and for char, a cast to
-- bpchar, which has no length (a regtype's text, "character", is char(1) in a cast, which
-- would cut the figure to its first character).
CREATE FUNCTION tally._figure_cast(figure pg_catalog.text, asked pg_catalog.regtype) RETURNS pg_catalog.text
LANGUAGE sql STABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $fn$
    SELECT CASE WHEN e.enum_type IS NOT NULL
                THEN pg_catalog.format('tally._enum_value(%s, NULL::%s)::%s', figure, e.enum_type, asked)
                WHEN asked OPERATOR(pg_catalog.=) 'pg_catalog.bpchar'::pg_catalog.regtype
                THEN pg_catalog.format('%s::pg_catalog.bpchar', figure)
                ELSE pg_catalog.format('%s::%s', figure, asked)
           END
      FROM (SELECT tally._enum_of(asked::pg_catalog.oid)::pg_catalog.regtype AS enum_type) e
$fn$;

-- The typed reads cast a figure's text under array_nulls = on (0.19.0, found by a hostile
-- probe): an array figure writes a NULL element as NULL, which a reader's array_nulls = off
-- would take literally (the text 'NULL', or an error for an inet).
CREATE FUNCTION tally.value(metric pg_catalog.text, as_type anyelement) RETURNS anyelement
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp SET array_nulls = on AS $fn$
DECLARE
    figure ALIAS FOR $0;
BEGIN
    EXECUTE pg_catalog.format('SELECT %s', tally._figure_cast('$1', pg_catalog.pg_typeof(as_type)))
       INTO figure USING tally._value_text(metric, pg_catalog.pg_typeof(as_type));
    RETURN figure;
END
$fn$;

CREATE FUNCTION tally.groups(metric pg_catalog.text, as_type anyelement)
RETURNS TABLE (group_key pg_catalog.text, value anyelement)
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp SET array_nulls = on AS $fn$
BEGIN
    RETURN QUERY EXECUTE pg_catalog.format('SELECT g.group_key, %s FROM tally._groups_text($1, $2) g',
                                           tally._figure_cast('g.value', pg_catalog.pg_typeof(as_type)))
           USING metric, pg_catalog.pg_typeof(as_type);
END
$fn$;

CREATE FUNCTION tally.series(metric pg_catalog.text, since pg_catalog.timestamptz, until pg_catalog.timestamptz,
                             as_type anyelement)
RETURNS TABLE (bucket_start pg_catalog.timestamptz, group_key pg_catalog.text, value anyelement)
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp SET array_nulls = on AS $fn$
BEGIN
    RETURN QUERY EXECUTE pg_catalog.format('SELECT s.bucket_start, s.group_key, %s FROM tally._series_text($1, $2, $3, $4) s',
                                           tally._figure_cast('s.value', pg_catalog.pg_typeof(as_type)))
           USING metric, since, until, pg_catalog.pg_typeof(as_type);
END
$fn$;

-- An array figure's text as the array it is (0.19.0), for the typed view's column of an
-- array metric: cast under array_nulls = on (see tally.value above). `as_type` is a NULL of
-- the figures' array type, a built-in one (ValueType::sql_type), whose input runs no code a
-- role wrote.
CREATE FUNCTION tally._array_figure(figure pg_catalog.text, as_type anyarray) RETURNS anyarray
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp SET array_nulls = on AS $fn$
DECLARE
    result ALIAS FOR $0;
BEGIN
    EXECUTE pg_catalog.format('SELECT $1::%s', pg_catalog.pg_typeof(as_type)) INTO result USING figure;
    RETURN result;
END
$fn$;
