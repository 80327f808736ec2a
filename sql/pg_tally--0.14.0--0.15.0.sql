-- pg_tally 0.14.0 -> 0.15.0 (CHANGELOG "0.15.0"): min and max over a column's text in a
-- collation created after initdb. The text min and max readers order by the column's
-- collation as its table has it in the read's snapshot, by oid (tally._sort_collation,
-- tally._collated_pick), never by a stored name; the DDL hooks see a table's columns renamed
-- by ALTER VIEW, ALTER MATERIALIZED VIEW and ALTER FOREIGN TABLE too.
\echo Use "ALTER EXTENSION pg_tally UPDATE TO '0.15.0'" to load this file. \quit

-- The smallest or largest of kept texts in a collation given by its oid.
CREATE FUNCTION tally._collated_pick("encodings" numeric[], "collation" oid, "descending" bool)
RETURNS numeric STRICT STABLE PARALLEL SAFE
LANGUAGE c AS 'MODULE_PATHNAME', '_collated_pick_wrapper';

-- The oid of the collation that orders the text values of metric m_id (0.15.0), NULL for a
-- metric whose values are not text in a collation that is not byte order: a column's
-- collation as its table has it in the read's snapshot (pg_attribute.attcollation), a value
-- expression's the built-in collation tally._value_type.collation_name names (expressions
-- take no other). By oid: a name would be looked up again where it is used, in the newest
-- catalog, where the collation's owner may have renamed it and put another in its place
-- meanwhile (tally._collated_pick compares by the oid). A collation it cannot find (a
-- column renamed behind the DDL hooks' back) is an error, never another order.
CREATE FUNCTION tally._sort_collation(m_id int) RETURNS oid
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    stored text[];
    value_column text;
    source_table oid;
    metric_name text;
    collation_oid oid;
BEGIN
    SELECT t.collation_name, m.column_name, m.source::oid, m.name
      INTO stored, value_column, source_table, metric_name
      FROM tally._value_type t JOIN tally._metric m ON m.id = t.metric_id
     WHERE t.metric_id = m_id;
    IF stored IS NULL THEN
        RETURN NULL;
    END IF;
    IF value_column IS NOT NULL THEN
        SELECT a.attcollation INTO collation_oid FROM pg_attribute a
         WHERE a.attrelid = source_table AND a.attname = value_column AND NOT a.attisdropped;
    ELSE
        collation_oid := to_regcollation(format('%I.%I', stored[1], stored[2]));
    END IF;
    IF coalesce(collation_oid, 0) = 0 THEN
        RAISE EXCEPTION 'cannot find the collation metric "%" orders its figures by', metric_name
              USING ERRCODE = '55000',
                    DETAIL = CASE WHEN value_column IS NOT NULL
                                  THEN format('Its table has no column "%s" in a collation.', value_column)
                                  ELSE format('No collation %I.%I exists.', stored[1], stored[2]) END,
                    HINT = 'Drop the metric (tally.drop_metric) and define it again.';
    END IF;
    RETURN collation_oid;
END
$fn$;

-- The expression that orders the values of metric m_id as the values themselves order
-- (0.12.0), over a column v of their encodings (src/model/value_type.rs), for the metrics whose
-- encodings do not: inet, cidr (0.13.0), jsonb (0.14.0), an enum (0.13.0: by its labels'
-- order in pg_enum, looked up by the enum's oid, a number here; a label the enum no longer
-- has, which the DDL hooks recompute away, has no place and comes last). NULL for every
-- other metric; a text in a collation that is not byte order is ordered by
-- tally._collated_pick (0.15.0; before, by a COLLATE clause here).
CREATE OR REPLACE FUNCTION tally._sort_key(m_id int) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN t.type_name OPERATOR(pg_catalog.=) 'inet'
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

-- The smallest (min) or largest (max) value of a group with a positive net count, by the
-- metric's tally._sort_key: every such value of the group is read and ordered, so this
-- costs O(distinct values of the group), where tally._extreme walks an index. The key is
-- built here from the catalog, never passed in.
CREATE OR REPLACE FUNCTION tally._sorted_extreme(m_id int, m_aggregate text, m_bucket timestamptz, m_group text,
                                      pending_values numeric[], pending_rows bigint[])
RETURNS numeric LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    order_collation oid := tally._sort_collation(m_id);
    sort_key text := tally._sort_key(m_id);
    result numeric;
BEGIN
    EXECUTE format($q$
        SELECT %s FROM (
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
             GROUP BY x.value HAVING sum(x.n_rows) > 0) AS c(v) %s$q$,
        CASE WHEN order_collation IS NULL THEN 'c.v' ELSE 'tally._collated_pick(array_agg(c.v), $6, $7)' END,
        CASE WHEN order_collation IS NULL
             THEN format('ORDER BY %s %s NULLS LAST LIMIT 1', sort_key,
                         CASE WHEN m_aggregate = 'max' THEN 'DESC' ELSE 'ASC' END)
             ELSE '' END)
       INTO result USING m_id, m_bucket, m_group, pending_values, pending_rows, order_collation, m_aggregate = 'max';
    RETURN result;
END
$fn$;

-- The min or max figure of a group: by tally._extreme's index walk, or by
-- tally._sorted_extreme for the values whose encodings do not order as they do.
CREATE OR REPLACE FUNCTION tally._extreme_of(m_id int, m_aggregate text, m_bucket timestamptz, m_group text,
                                  pending_values numeric[], pending_rows bigint[])
RETURNS numeric LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF tally._sort_key(m_id) IS NULL AND tally._sort_collation(m_id) IS NULL THEN
        RETURN tally._extreme(m_id, m_aggregate, m_bucket, m_group, pending_values, pending_rows);
    END IF;
    RETURN tally._sorted_extreme(m_id, m_aggregate, m_bucket, m_group, pending_values, pending_rows);
END
$fn$;

-- The min or max among `candidates` (the figures of a metric's groups) by the values' own
-- order: the figure of a grouped min or max metric over all its groups.
CREATE OR REPLACE FUNCTION tally._sorted_pick(m_name text, m_aggregate text, candidates numeric[])
RETURNS numeric LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    picked_metric int := (SELECT m.id FROM tally._metric m WHERE m.name = m_name);
    order_collation oid := tally._sort_collation(picked_metric);
    sort_key text := tally._sort_key(picked_metric);
    result numeric;
BEGIN
    IF order_collation IS NOT NULL THEN
        RETURN tally._collated_pick(candidates, order_collation, m_aggregate = 'max');
    END IF;
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

-- The ALTER hook also checks the tables whose own row type an ALTER TYPE changed
-- (ALTER TYPE a_table RENAME ATTRIBUTE renames the table's column), and waits for a metric
-- being defined (LOCK TABLE tally._metric IN SHARE MODE) before an ALTER SCHEMA, TYPE or
-- DOMAIN's checks.
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
        -- A metric being defined names what it parsed (0.15.0, found by a hostile probe):
        -- wait until it commits (tally.create_metric locks out this mode), then check it too
        -- (a REPEATABLE READ snapshot that cannot see it retries: 40001).
        LOCK TABLE tally._metric IN SHARE MODE; PERFORM tally._require_current_metrics();
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
        LOCK TABLE tally._metric IN SHARE MODE; PERFORM tally._require_current_metrics();  -- as above
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
               AND (r.reloftype = t.oid OR r.oid = t.typrelid  -- 0.15.0: the table's own row type
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

ALTER FUNCTION tally._on_alter_table() SECURITY DEFINER SET search_path = pg_catalog, pg_temp;

-- tally._read_types records the types of the columns a metric reads by oid since 0.15.0
-- (src/sql/store.rs, FOLLOW_READ_TYPES_SQL), where 0.14.0 wrote their names: each row that
-- still matches the table as it is now is rewritten in the new form.
UPDATE tally._read_types r
   SET types = coalesce((SELECT pg_catalog.string_agg(pg_catalog.format('%I %s %s %s', a.attname,
                                    a.atttypid, a.atttypmod, a.attcollation), ', ' ORDER BY a.attname)
                           FROM tally._metric m JOIN pg_catalog.pg_attribute a ON a.attrelid = m.source
                          WHERE m.id = r.metric_id AND a.attname = ANY (m.depends_on) AND NOT a.attisdropped), '')
 WHERE r.types = coalesce((SELECT pg_catalog.string_agg(pg_catalog.format('%I %s %s', a.attname,
                                      pg_catalog.format_type(a.atttypid, a.atttypmod), a.attcollation), ', ' ORDER BY a.attname)
                             FROM tally._metric m JOIN pg_catalog.pg_attribute a ON a.attrelid = m.source
                            WHERE m.id = r.metric_id AND a.attname = ANY (m.depends_on) AND NOT a.attisdropped), '');

DROP EVENT TRIGGER tally_alter_table;
-- ALTER VIEW, ALTER MATERIALIZED VIEW and ALTER FOREIGN TABLE (0.15.0, found by a hostile
-- probe): Postgres renames a table's column under any of them (the command is tagged by the
-- keyword written), which the hooks must see as they see ALTER TABLE's.
CREATE EVENT TRIGGER tally_alter_table ON ddl_command_end
    WHEN TAG IN ('ALTER TABLE', 'CREATE TABLE', 'ALTER TYPE', 'ALTER DOMAIN', 'ALTER SCHEMA',
                 'ALTER VIEW', 'ALTER MATERIALIZED VIEW', 'ALTER FOREIGN TABLE')
    EXECUTE FUNCTION tally._on_alter_table();

REVOKE EXECUTE ON FUNCTION tally._sort_collation(integer), tally._collated_pick(numeric[], oid, boolean) FROM PUBLIC;
