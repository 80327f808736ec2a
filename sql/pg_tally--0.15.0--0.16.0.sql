-- pg_tally 0.15.0 -> 0.16.0 (CHANGELOG "0.16.0"): group columns of enums, dates, timestamps
-- and timestamptz; count_distinct over money and timetz. Their group keys are pg_tally's own text of the value
-- (tally._group_text: an enum's label, ISO 8601 for the rest, a timestamptz in UTC),
-- whatever DateStyle or TimeZone a writer has; the labels of the enums a metric groups by
-- are saved (tally._group_enum), so that the DDL hooks recompute the metric when one is
-- renamed.
\echo Use "ALTER EXTENSION pg_tally UPDATE TO '0.16.0'" to load this file. \quit

CREATE FUNCTION tally._group_text(value anyelement) RETURNS text
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'group_text_wrapper';

-- The enums a metric's group columns are of (0.16.0): a group key holds the label
-- (tally._group_text), and `labels` are the enum's labels as pg_tally last saw them, which
-- the DDL hooks compare to find a label renamed and recompute the metric, as for
-- tally._value_enum. By regtype, for the same reason.
CREATE TABLE tally._group_enum (
    metric_id int NOT NULL REFERENCES tally._metric (id) ON DELETE CASCADE,
    enum_type regtype NOT NULL,
    labels    text[] NOT NULL,
    PRIMARY KEY (metric_id, enum_type)
);

SELECT pg_catalog.pg_extension_config_dump('tally._group_enum', '');

-- The ALTER TYPE hook also checks the tables of metrics grouped by the enum altered.
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
                                WHERE x.metric_id = m.id AND x.enum_type::pg_catalog.oid = t.oid)
                    -- 0.16.0: likewise a metric grouped by the enum (a domain over it too).
                    OR EXISTS (SELECT 1 FROM tally._group_enum g
                                WHERE g.metric_id = m.id AND g.enum_type::pg_catalog.oid = t.oid))
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

-- 0.16.0 keys a group column of numeric without a scale of its own, real, double precision
-- or (in a UTF8 database) jsonb, or a domain over one, by tally._group_text, the shortest
-- text of its value, where 0.15.0 keyed it by its text cast, which kept values that GROUP BY
-- makes one group in two: 1.0 and 1.00, -0 and 0, {"a": 1.0} and {"a": 1}. The metrics
-- grouped by such a column are marked broken here and recomputed by
-- tally._revalidate_source (which checks every metric of their tables and rebuilds their
-- triggers: a new generation, so every session then builds the new keys), table by table in
-- oid order. This scans those tables and keeps their readers and writers waiting until the
-- update commits. No definition may start meanwhile (the lock on tally._metric), nor be
-- missed by a REPEATABLE READ snapshot older than it (tally._require_current_metrics: 40001).
LOCK TABLE tally._metric IN SHARE ROW EXCLUSIVE MODE;
SELECT tally._require_current_metrics();

WITH RECURSIVE grouped (metric_id, type_oid, typmod) AS (
    SELECT m.id, a.atttypid, a.atttypmod
      FROM tally._metric m
      JOIN pg_catalog.pg_attribute a ON a.attrelid = m.source::pg_catalog.oid
     WHERE a.attnum > 0 AND NOT a.attisdropped
       AND a.attname::pg_catalog.text = ANY (coalesce(m.group_columns, ARRAY[m.group_by]))
    UNION ALL
    SELECT g.metric_id, t.typbasetype, t.typtypmod
      FROM grouped g JOIN pg_catalog.pg_type t ON t.oid = g.type_oid
     WHERE t.typtype = 'd'
)
INSERT INTO tally._broken (metric_id, reason)
SELECT DISTINCT g.metric_id, 'its group keys change form in 0.16.0 and the update did not recompute it'
  FROM grouped g
 WHERE (g.type_oid = 'pg_catalog.numeric'::pg_catalog.regtype AND g.typmod < 0)
    OR g.type_oid IN ('pg_catalog.float4'::pg_catalog.regtype, 'pg_catalog.float8'::pg_catalog.regtype)
    OR (g.type_oid = 'pg_catalog.jsonb'::pg_catalog.regtype AND pg_catalog.getdatabaseencoding() = 'UTF8')
    ON CONFLICT (metric_id) DO NOTHING;

DO $$
DECLARE
    source_table oid;
    failure text;
BEGIN
    FOR source_table IN
        SELECT DISTINCT m.source::pg_catalog.oid
          FROM tally._metric m JOIN tally._broken b ON b.metric_id = m.id
         WHERE b.reason = 'its group keys change form in 0.16.0 and the update did not recompute it'
         ORDER BY 1
    LOOP
        BEGIN
            PERFORM tally._revalidate_source(source_table::pg_catalog.regclass);
        EXCEPTION WHEN OTHERS THEN
            -- One table's metrics (its owner's rights, a metric no longer valid) must not fail
            -- the update without a word of which: the error names them.
            GET STACKED DIAGNOSTICS failure = MESSAGE_TEXT;
            RAISE EXCEPTION 'cannot update pg_tally to 0.16.0: the metrics of table % cannot be recomputed: %',
                  source_table::pg_catalog.regclass, failure
                  USING ERRCODE = 'object_not_in_prerequisite_state',
                        DETAIL = pg_catalog.format('Metrics of that table: %s.',
                                   (SELECT pg_catalog.string_agg(m.name, ', ' ORDER BY m.name)
                                      FROM tally._metric m WHERE m.source::pg_catalog.oid = source_table)),
                        HINT = 'Fix what the error says, or drop those metrics with tally.drop_metric(name), then run the update again.';
        END;
    END LOOP;
END
$$;

-- count_distinct over money and timetz (0.16.0). The constraint is named as a fresh install
-- names it. This locks tally._value_type until the update commits: a writer that loads its
-- table's metrics meanwhile (once per session, or after a change of definitions) waits that
-- long.
ALTER TABLE tally._value_type
    DROP CONSTRAINT _value_type_type_name_check,
    ADD CONSTRAINT _value_type_type_name_check
        CHECK (type_name IN ('timestamptz', 'timestamp', 'date', 'time', 'interval', 'uuid', 'boolean',
                             'text', 'inet', 'cidr', 'macaddr', 'macaddr8', 'enum', 'bytea', 'varbit',
                             'float4', 'float8', 'jsonb', 'array', 'range', 'money', 'timetz'));
