-- pg_tally 0.10.0 -> 0.11.0 (CHANGELOG "0.11.0"): value expressions (a metric may aggregate
-- one expression over the row's columns, column_name => 'price * quantity', stored in the
-- new table tally._value_expression) and fixed-width buckets ('15 minutes', '6 hours').
\echo Use "ALTER EXTENSION pg_tally UPDATE TO '0.11.0'" to load this file. \quit

-- The buckets a metric may name, and the columns of a metric grouped by several. First in
-- this step, as in 0.10.0: the brief ACCESS EXCLUSIVE lock on tally._metric waits for
-- writers in flight and holds new ones back only while the few definition rows are checked
-- (the new column has no default: no rewrite).
ALTER TABLE tally._metric
    ADD COLUMN group_columns text[],
    DROP CONSTRAINT _metric_bucket_check,
    ADD CONSTRAINT _metric_bucket_check
        CHECK (bucket IN ('hour', 'day', 'week', 'month', 'quarter', 'year',
            '1 minute', '2 minutes', '3 minutes', '4 minutes', '5 minutes', '6 minutes',
            '10 minutes', '12 minutes', '15 minutes', '20 minutes', '30 minutes',
            '2 hours', '3 hours', '4 hours', '6 hours', '8 hours', '12 hours'));

-- A table of its own: its foreign key takes SHARE ROW EXCLUSIVE on tally._metric, which
-- writers (who only read definitions) do not wait for, nor hold back.
CREATE TABLE tally._value_expression (
    metric_id  int PRIMARY KEY REFERENCES tally._metric (id) ON DELETE CASCADE,
    expression text NOT NULL
);
SELECT pg_catalog.pg_extension_config_dump('tally._value_expression', '');

CREATE OR REPLACE VIEW tally.metrics AS
SELECT m.name,
       m.source,
       m.aggregate,
       coalesce(m.column_name, (SELECT e.expression FROM tally._value_expression e WHERE e.metric_id = m.id))
           AS column_name,
       m.filter,
       m.group_by,
       m.bucket,
       m.bucket_column,
       m.time_zone,
       m.created_at,
       (SELECT b.reason FROM tally._broken b WHERE b.metric_id = m.id) AS broken
  FROM tally._metric m;

-- The start of the bucket holding the instant `at` (0.11.0), or NULL for an unbucketed
-- metric: a calendar unit's local start (date_trunc in the time zone, DST-correct); N
-- minutes counted in real time from the start of the local hour; N hours counted on the
-- local clock from local midnight. The rule model/sql.rs (bucket_sql) writes into every
-- change of a timestamptz column, and read::sys::bucket_start_at computes in Rust.
CREATE FUNCTION tally._bucket_start(bucket text, at timestamptz, time_zone text)
RETURNS timestamptz LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN bucket IS NULL THEN NULL
                WHEN bucket OPERATOR(pg_catalog.~~) '% minute%'
                THEN pg_catalog.date_bin(pg_catalog.make_interval(mins => pg_catalog.split_part(bucket, ' ', 1)::pg_catalog.int4),
                                         at, pg_catalog.date_trunc('hour', at, time_zone))
                WHEN bucket OPERATOR(pg_catalog.~~) '% hours'
                THEN pg_catalog.timezone(time_zone, pg_catalog.date_bin(
                         pg_catalog.make_interval(hours => pg_catalog.split_part(bucket, ' ', 1)::pg_catalog.int4),
                         pg_catalog.timezone(time_zone, at), pg_catalog.date_trunc('day', pg_catalog.timezone(time_zone, at))))
                ELSE pg_catalog.date_trunc(bucket, at, time_zone) END
$$;

-- The bucket holding now() for a metric, or NULL for an unbucketed metric.
CREATE OR REPLACE FUNCTION tally._current_bucket(bucket text, time_zone text)
RETURNS timestamptz LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT tally._bucket_start(bucket, pg_catalog.now(), time_zone)
$$;

-- ALTER TYPE re-validates the metrics whose value expression names the type, as it did
-- those whose filter does, and, for an enum of the table's owner, every metric with a filter
-- or value expression (a renamed enum leaves them naming a free name).
CREATE OR REPLACE FUNCTION tally._on_alter_table() RETURNS event_trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    root oid;
    typed bool;
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
    -- An ALTER TYPE (or ALTER DOMAIN: a domain given to another owner, who could then add a
    -- cast from it, 0.11.0) may change what a metric reads without touching its table: an enum value
    -- a filter names renamed, the attribute of a typed table's type retyped (CASCADE). The
    -- sources it may concern are checked, whatever check_function_bodies says: a typed table
    -- of the type (which the ALTER TYPE altered, and locked: rebuilt too), a table with a
    -- column of it or of its array, a metric whose filter or value expression names a type
    -- the table's owner owns (a filter uses no other role's type; matching by name alone let anyone's ALTER
    -- TYPE of a type named "(" reach every table). The ALTER TYPE is refused if a metric would
    -- break (0.9.0: every writer of the table failed from then on). A composite type is
    -- reported by its pg_class entry.
    -- A schema renamed leaves a filter that names one of its enums naming a free schema
    -- name, which anyone allowed to create schemas could fill with a domain run as the
    -- table's owner; one given away is no longer the table owner's (0.11.0, found by hostile
    -- probes). Nothing after the command tells which filters named it (its old name is
    -- gone; REASSIGN OWNED or ALTER DATABASE OWNER, which fire no event trigger, may have
    -- moved it from the table owner before): every metric with a filter or value expression
    -- is checked again, and the ALTER SCHEMA refused if one would break. A rare command.
    IF EXISTS (SELECT 1 FROM pg_event_trigger_ddl_commands() c WHERE c.command_tag = 'ALTER SCHEMA') THEN
        FOR root IN
            SELECT DISTINCT m.source::oid FROM tally._metric m
             WHERE m.filter IS NOT NULL
                OR EXISTS (SELECT 1 FROM tally._value_expression e WHERE e.metric_id = m.id)
        LOOP
            PERFORM tally._check_source(root::regclass);
        END LOOP;
        RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_event_trigger_ddl_commands() c WHERE c.command_tag IN ('ALTER TYPE', 'ALTER DOMAIN')) THEN
        FOR root, typed IN
            SELECT m.source::oid, pg_catalog.bool_or(r.reloftype = t.oid)
              FROM pg_event_trigger_ddl_commands() c
              JOIN pg_catalog.pg_type t
                ON (c.classid = 'pg_catalog.pg_type'::pg_catalog.regclass AND t.oid = c.objid)
                OR (c.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND t.typrelid = c.objid)
              JOIN pg_catalog.pg_namespace tn ON tn.oid = t.typnamespace
              JOIN tally._metric m ON true
              JOIN pg_catalog.pg_class r ON r.oid = m.source
             WHERE c.command_tag IN ('ALTER TYPE', 'ALTER DOMAIN')
               AND (r.reloftype = t.oid
                    OR EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                                WHERE a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
                                  AND a.atttypid IN (t.oid, t.typarray))
                    OR (t.typowner = r.relowner
                        AND (pg_catalog.strpos(m.filter, t.typname) > 0
                             OR pg_catalog.strpos((SELECT e.expression FROM tally._value_expression e
                                                    WHERE e.metric_id = m.id), t.typname) > 0))
                    -- 0.11.0, found by a hostile probe: an enum given to another owner is
                    -- still named by its qualified name; one renamed by the table's owner
                    -- (a filter may name only its own enums) leaves the filter naming a
                    -- free name, which no text search finds, so every metric of its tables
                    -- with a filter or value expression is checked again.
                    OR pg_catalog.strpos(coalesce(m.filter, '') || ' ' || coalesce((SELECT e.expression FROM tally._value_expression e
                                                                                     WHERE e.metric_id = m.id), ''),
                                         pg_catalog.quote_ident(tn.nspname) || '.' || pg_catalog.quote_ident(t.typname)) > 0
                    OR (t.typtype = 'e' AND t.typowner = r.relowner
                        AND (m.filter IS NOT NULL
                             OR EXISTS (SELECT 1 FROM tally._value_expression e WHERE e.metric_id = m.id))))
             GROUP BY m.source
        LOOP
            IF typed THEN
                PERFORM tally._revalidate_source(root::regclass);
            ELSE
                PERFORM tally._check_source(root::regclass);
            END IF;
        END LOOP;
        RETURN;
    END IF;
    -- A partition (created, attached, detached) counts for the root of its tree.
    FOR root IN SELECT DISTINCT coalesce(pg_partition_root(c.objid), c.objid)
                    FROM pg_event_trigger_ddl_commands() c
                   WHERE c.classid = 'pg_class'::regclass LOOP
        IF NOT EXISTS (SELECT 1 FROM tally._metric m WHERE m.source::oid = root) THEN
            CONTINUE;
        END IF;
        -- pg_restore (every pg_dump script turns check_function_bodies off) recreates the
        -- triggers itself; rebuilding them halfway through would collide with the dump's.
        -- The metrics are still checked (a renamed column a filter reads is refused: every
        -- write of the table would fail) and follow what changed (0.9.0; skipped before).
        IF current_setting('check_function_bodies') = 'off' THEN
            PERFORM tally._check_source(root::regclass);
        ELSE
            PERFORM tally._revalidate_source(root::regclass);
        END IF;
    END LOOP;
END
$fn$;
ALTER FUNCTION tally._on_alter_table() SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
-- ... and fires for ALTER DOMAIN and ALTER SCHEMA too.
DROP EVENT TRIGGER tally_alter_table;
CREATE EVENT TRIGGER tally_alter_table ON ddl_command_end WHEN TAG IN ('ALTER TABLE', 'CREATE TABLE', 'ALTER TYPE', 'ALTER DOMAIN', 'ALTER SCHEMA')
    EXECUTE FUNCTION tally._on_alter_table();

-- A dropped enum that a filter or value expression names is refused, as a dropped column is.
CREATE OR REPLACE FUNCTION tally._on_sql_drop() RETURNS event_trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    dropped record;
    users text;
    root oid;
BEGIN
    -- A dropped partition took its rows out of its root's figures: recompute them.
    FOR root IN SELECT DISTINCT p.root FROM pg_event_trigger_dropped_objects() d
                  JOIN tally._partition p ON p.relid = d.objid
                 WHERE d.object_type = 'table' LOOP
        DELETE FROM tally._partition p USING pg_event_trigger_dropped_objects() d WHERE p.relid = d.objid;
        PERFORM tally._revalidate_source(root::regclass);
    END LOOP;
    FOR dropped IN SELECT * FROM pg_event_trigger_dropped_objects()
                    WHERE object_type IN ('table', 'table column') LOOP
        SELECT string_agg(m.name, ', ' ORDER BY m.name) INTO users
          FROM tally._metric m
         WHERE m.source::oid = dropped.objid
           AND (dropped.object_type = 'table'
                OR dropped.address_names[array_upper(dropped.address_names, 1)] = ANY (m.depends_on));
        IF users IS NOT NULL THEN
            RAISE EXCEPTION 'cannot drop % %: pg_tally metrics depend on it', dropped.object_type, dropped.object_identity
                  USING ERRCODE = 'dependent_objects_still_exist',
                        DETAIL = format('Metrics using it: %s.', users),
                        HINT = 'Drop those metrics first with tally.drop_metric(name), then repeat the command.';
        END IF;
    END LOOP;
    -- A type a filter or value expression names (an enum: no other type passes their
    -- check), dropped: the stored text would name a free type name, and whoever may create
    -- in its schema could fill it with a domain whose CHECK runs as the table's owner in
    -- every write (0.11.0, found by a hostile probe). The metrics whose text holds the
    -- type's name are checked again, which fails, and the drop with it. A table's own row
    -- type, dropped with the table, is no such type.
    FOR root IN SELECT DISTINCT m.source::oid
                  FROM pg_event_trigger_dropped_objects() d
                  JOIN tally._metric m
                    ON pg_catalog.strpos(coalesce(m.filter, '') OPERATOR(pg_catalog.||) ' '
                                         OPERATOR(pg_catalog.||) coalesce((SELECT e.expression FROM tally._value_expression e
                                                                           WHERE e.metric_id = m.id), ''),
                                         d.object_identity) > 0
                 WHERE d.object_type = 'type'
                   AND NOT EXISTS (SELECT 1 FROM pg_event_trigger_dropped_objects() t
                                    WHERE t.object_type = 'table' AND t.object_identity = d.object_identity) LOOP
        PERFORM tally._check_source(root::regclass);
    END LOOP;
END
$fn$;
ALTER FUNCTION tally._on_sql_drop() SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

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

-- The snapshot's query read nests the figures of a metric grouped by several columns.
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
     CROSS JOIN LATERAL (SELECT tally._current_bucket(mt.bucket, mt.time_zone) AS cur) c
     CROSS JOIN LATERAL (
            SELECT CASE WHEN b.reason IS NOT NULL THEN 'null'::pg_catalog.jsonb
                        WHEN mt.group_by IS NULL
                        THEN coalesce(pg_catalog.to_jsonb(tally._figure_of(mt.id, mt.aggregate, c.cur, NULL, pg_catalog.sum(g.v), pg_catalog.sum(g.t))),
                                      'null'::pg_catalog.jsonb)
                        ELSE tally._nested_groups(
                                 coalesce(pg_catalog.jsonb_object_agg(coalesce(g.k, 'null'), tally._figure_of(mt.id, mt.aggregate, c.cur, g.k, g.v, g.t))
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

-- create_metric's group_by takes one column (text) or several (an array): anycompatible,
-- DEFAULT NULL::text (src/catalog/define.rs says why not an overload).
DROP FUNCTION tally.create_metric(text, regclass, text, text, text, text, text, text, text);
CREATE FUNCTION tally.create_metric(
    name text, source regclass, aggregate text DEFAULT 'count', column_name text DEFAULT NULL,
    filter text DEFAULT NULL, group_by anycompatible DEFAULT NULL::text, bucket text DEFAULT NULL,
    bucket_column text DEFAULT NULL, time_zone text DEFAULT 'UTC'
) RETURNS jsonb
VOLATILE PARALLEL UNSAFE
LANGUAGE c
AS 'MODULE_PATHNAME', 'create_metric_wrapper';
ALTER FUNCTION tally.create_metric(text, regclass, text, text, text, anycompatible, text, text, text) SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION tally.create_metric(text, regclass, text, text, text, anycompatible, text, text, text) IS
'Defines a metric on a table (count, sum, avg, min, max or count_distinct over a column or expression; optional filter, group_by column or columns, bucket) and backfills it. Returns the stored definition.';
