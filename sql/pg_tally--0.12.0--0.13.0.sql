-- pg_tally 0.12.0 -> 0.13.0 (CHANGELOG "0.13.0"): min, max and count_distinct over enums
-- (kept by label; the enum and its labels in the new table tally._value_enum, a renamed label
-- followed by the DDL hooks), cidr, macaddr, macaddr8, bytea, bit, varbit, real and double
-- precision.
\echo Use "ALTER EXTENSION pg_tally UPDATE TO '0.13.0'" to load this file. \quit

-- The eight new type names. The constraint is named as a fresh install names it. This locks
-- tally._value_type until the update commits: a writer that loads its table's metrics
-- meanwhile (once per session, or after a change of definitions) waits that long.
ALTER TABLE tally._value_type
    DROP CONSTRAINT _value_type_type_name_check,
    ADD CONSTRAINT _value_type_type_name_check
        CHECK (type_name IN ('timestamptz', 'timestamp', 'date', 'time', 'interval', 'uuid', 'boolean',
                             'text', 'inet', 'cidr', 'macaddr', 'macaddr8', 'enum', 'bytea', 'varbit',
                             'float4', 'float8'));

-- The enum a metric of type_name 'enum' reads (0.13.0): its values are kept by label, and
-- ordered, when read, by the enum's order. `labels` are the enum's labels as pg_tally last
-- saw them: a label renamed since (ALTER TYPE ... RENAME VALUE) leaves counters on the old
-- label, which the DDL hooks find by this list and recompute (catalog::define). By regtype:
-- a dump names the type, a restore finds it again (its oid and its labels' oids change).
CREATE TABLE tally._value_enum (
    metric_id int PRIMARY KEY REFERENCES tally._value_type (metric_id) ON DELETE CASCADE,
    enum_type regtype NOT NULL,
    labels    text[] NOT NULL
);
SELECT pg_catalog.pg_extension_config_dump('tally._value_enum', '');

-- An enum's label as the change queries keep it, and the typed view's enum column
-- (src/model/value_type.rs).
CREATE FUNCTION tally._tracked_label(value anyelement) RETURNS numeric
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'tracked_label_wrapper';
CREATE FUNCTION tally._enum_value(label text, of_type anyenum) RETURNS anyenum
STABLE PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'enum_value_wrapper';

-- bytea, bit and varbit as the change queries keep them (src/model/value_type.rs); the
-- texts' min/max encoder now names the kind of value it refuses (one message for the three).
CREATE FUNCTION tally._tracked_value("value" bytea) RETURNS numeric
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'tracked_bytea_wrapper';
CREATE FUNCTION tally._tracked_bytea_in_order("metric" text, "value" bytea) RETURNS numeric
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '_tracked_bytea_in_order_wrapper';
CREATE FUNCTION tally._tracked_bits_in_order("metric" text, "bits" text) RETURNS numeric
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '_tracked_bits_in_order_wrapper';

-- real and double precision as the change queries keep them (src/model/value_type.rs).
CREATE FUNCTION tally._tracked_value("value" double precision) RETURNS numeric
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'tracked_float8_wrapper';
CREATE FUNCTION tally._tracked_value("value" real) RETURNS numeric
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'tracked_float4_wrapper';
-- A float figure's float, for the snapshot's number (sql/read.sql: tally._typed_figure).
CREATE FUNCTION tally._float_of("figure" numeric) RETURNS double precision
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '_float_of_wrapper';
REVOKE EXECUTE ON FUNCTION tally._float_of(numeric) FROM PUBLIC;
CREATE OR REPLACE FUNCTION tally._typed_figure(type_name pg_catalog.text, aggregate pg_catalog.text, figure pg_catalog.numeric)
RETURNS pg_catalog.jsonb LANGUAGE sql STABLE PARALLEL SAFE AS $fn$
    SELECT CASE WHEN type_name IS NULL THEN pg_catalog.to_jsonb(figure)
                WHEN type_name OPERATOR(pg_catalog.=) 'float8' THEN pg_catalog.to_jsonb(tally._float_of(figure))
                WHEN type_name OPERATOR(pg_catalog.=) 'float4'
                THEN pg_catalog.to_jsonb(tally._float_of(figure)::pg_catalog.float4)
                ELSE tally._figure_json(type_name, aggregate, figure) END
$fn$;

-- sql/values.sql: the sorted reads order cidr and enums too; a label no longer in its enum
-- comes last.
-- The expression that orders the values of metric m_id as the values themselves order
-- (0.12.0), over a column v of their encodings (src/model/value_type.rs), for the metrics whose
-- encodings do not: a text in a collation that is not byte order (tally._value_type.collation_name,
-- a built-in collation, quoted here), inet, cidr (0.13.0), an enum (0.13.0: by its labels'
-- order in pg_enum, looked up by the enum's oid, a number here; a label the enum no longer
-- has, which the DDL hooks recompute away, has no place and comes last). NULL for every
-- other metric.
CREATE OR REPLACE FUNCTION tally._sort_key(m_id int) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN t.collation_name IS NOT NULL
                THEN pg_catalog.format('tally._text_of(v) COLLATE %I.%I', t.collation_name[1], t.collation_name[2])
                WHEN t.type_name OPERATOR(pg_catalog.=) 'inet'
                THEN 'tally._text_of(v)::pg_catalog.inet'
                WHEN t.type_name OPERATOR(pg_catalog.=) 'cidr'
                THEN 'tally._text_of(v)::pg_catalog.cidr'
                WHEN t.type_name OPERATOR(pg_catalog.=) 'enum'
                THEN pg_catalog.format('(SELECT e.enumsortorder FROM pg_catalog.pg_enum e '
                                       'WHERE e.enumtypid OPERATOR(pg_catalog.=) %s '
                                       'AND e.enumlabel OPERATOR(pg_catalog.=) tally._text_of(v))',
                                       coalesce((SELECT x.enum_type::pg_catalog.oid FROM tally._value_enum x
                                                  WHERE x.metric_id OPERATOR(pg_catalog.=) m_id), 0))
           END
      FROM tally._value_type t WHERE t.metric_id OPERATOR(pg_catalog.=) m_id
$$;

-- The smallest (min) or largest (max) value of a group with a positive net count, by the
-- metric's tally._sort_key: every such value of the group is read and ordered, so this
-- costs O(distinct values of the group), where tally._extreme walks an index. The key is
-- built here from the catalog, never passed in.
CREATE OR REPLACE FUNCTION tally._sorted_extreme(m_id int, m_aggregate text, m_bucket timestamptz, m_group text)
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
         ORDER BY %s %s NULLS LAST LIMIT 1$q$, sort_key, CASE WHEN m_aggregate = 'max' THEN 'DESC' ELSE 'ASC' END)
       INTO result USING m_id, m_bucket, m_group;
    RETURN result;
END
$fn$;

-- The min or max among `candidates` (the figures of a metric's groups) by the values' own
-- order: the figure of a grouped min or max metric over all its groups.
CREATE OR REPLACE FUNCTION tally._sorted_pick(m_name text, m_aggregate text, candidates numeric[])
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
    EXECUTE format('SELECT v FROM unnest($1) AS c(v) WHERE v IS NOT NULL ORDER BY %s %s NULLS LAST LIMIT 1',
                   sort_key, CASE WHEN m_aggregate = 'max' THEN 'DESC' ELSE 'ASC' END)
       INTO result USING candidates;
    RETURN result;
END
$fn$;

-- The DDL hooks refuse DDL whose REPEATABLE READ / SERIALIZABLE snapshot misses a metric
-- defined or dropped since (src/catalog/define.rs).
CREATE FUNCTION tally._require_current_metrics() RETURNS void
STRICT VOLATILE PARALLEL UNSAFE LANGUAGE c AS 'MODULE_PATHNAME', '_require_current_metrics_wrapper';
REVOKE EXECUTE ON FUNCTION tally._require_current_metrics() FROM PUBLIC;

-- sql/ddl.sql: the hooks call it first; an ALTER TYPE of an enum a metric reads the values
-- of checks that metric's table (a renamed label is followed there).
CREATE OR REPLACE FUNCTION tally._on_sql_drop() RETURNS event_trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    dropped record;
    users text;
    root oid;
BEGIN
    -- 0.13.0: the metrics below are the ones this transaction's snapshot sees; refused when a
    -- REPEATABLE READ or SERIALIZABLE snapshot misses some (40001, retried by clients).
    PERFORM tally._require_current_metrics();
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

CREATE OR REPLACE FUNCTION tally._on_alter_table() RETURNS event_trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    root oid;
    typed bool;
    users text;
BEGIN
    PERFORM tally._require_current_metrics();   -- as in tally._on_sql_drop (0.13.0)
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
                             OR EXISTS (SELECT 1 FROM tally._value_expression e WHERE e.metric_id = m.id)))
                    -- 0.13.0: a metric over the enum's values (by a domain, or an
                    -- expression, too) keeps them by label: a label renamed is followed
                    -- (tally._check_source recomputes it).
                    OR EXISTS (SELECT 1 FROM tally._value_enum x
                                WHERE x.metric_id = m.id AND x.enum_type::pg_catalog.oid = t.oid))
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

-- A rewrite may change every value a metric read (ALTER COLUMN amount TYPE numeric USING
-- amount * 100): the metrics of the rewritten table (or of the root of its partition tree)
-- are marked broken here, before the rewrite, and recomputed by tally._on_alter_table at the
-- end of the command, which clears the mark. Should that hook not run, they stay broken,
-- visibly, until tally.refresh: never silently wrong.
CREATE OR REPLACE FUNCTION tally._on_table_rewrite() RETURNS event_trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    rewritten oid := pg_event_trigger_table_rewrite_oid();
    root oid := coalesce(pg_partition_root(rewritten), rewritten);
BEGIN
    PERFORM tally._require_current_metrics();   -- as in tally._on_sql_drop (0.13.0)
    INSERT INTO tally._broken (metric_id, reason)
    SELECT m.id, format('its table %s was rewritten by %s and not recomputed: the DDL hook that recomputes it did not run',
                        root::regclass, tg_tag)
      FROM tally._metric m
     WHERE m.source::oid = root
        ON CONFLICT (metric_id) DO NOTHING;
END
$fn$;
ALTER FUNCTION tally._on_sql_drop() SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION tally._on_alter_table() SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION tally._on_table_rewrite() SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

-- sql/read.sql: the typed reads make an enum's figures its values by enum_in, never by a
-- cast from text its owner could have created, and read a char figure whole
-- (tally._figure_cast).
CREATE FUNCTION tally._enum_of("asked" oid) RETURNS oid
STABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '_enum_of_wrapper';
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

CREATE OR REPLACE FUNCTION tally.value(metric pg_catalog.text, as_type anyelement) RETURNS anyelement
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    figure ALIAS FOR $0;
BEGIN
    EXECUTE pg_catalog.format('SELECT %s', tally._figure_cast('$1', pg_catalog.pg_typeof(as_type)))
       INTO figure USING tally._value_text(metric, pg_catalog.pg_typeof(as_type));
    RETURN figure;
END
$fn$;

CREATE OR REPLACE FUNCTION tally.groups(metric pg_catalog.text, as_type anyelement)
RETURNS TABLE (group_key pg_catalog.text, value anyelement)
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    RETURN QUERY EXECUTE pg_catalog.format('SELECT g.group_key, %s FROM tally._groups_text($1, $2) g',
                                           tally._figure_cast('g.value', pg_catalog.pg_typeof(as_type)))
           USING metric, pg_catalog.pg_typeof(as_type);
END
$fn$;

CREATE OR REPLACE FUNCTION tally.series(metric pg_catalog.text, since pg_catalog.timestamptz, until pg_catalog.timestamptz,
                             as_type anyelement)
RETURNS TABLE (bucket_start pg_catalog.timestamptz, group_key pg_catalog.text, value anyelement)
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    RETURN QUERY EXECUTE pg_catalog.format('SELECT s.bucket_start, s.group_key, %s FROM tally._series_text($1, $2, $3, $4) s',
                                           tally._figure_cast('s.value', pg_catalog.pg_typeof(as_type)))
           USING metric, since, until, pg_catalog.pg_typeof(as_type);
END
$fn$;
