-- pg_tally 0.8.0 -> 0.9.0: one writer can no longer break or skew anyone else's figures
-- (CHANGELOG "0.9.0").
--
-- * Group keys of any length: the counters' unique index holds a long key by its SHA-512
--   (tally._group_index_key); one long key made every fold fail before.
-- * A value no fold could store is refused in the writing statement (tally._refuse_value,
--   called by the library's change queries): a summed value of magnitude 1e900 or more, a
--   min/max/count_distinct value longer than 1024 bytes.
-- * A metric whose counters a fold cannot store is marked broken (tally._broken,
--   shown in tally.metrics), the others keep folding; reads name it; tally.refresh repairs
--   it. A fold on the write path never fails the writer's statement (the library).
\echo Use "ALTER EXTENSION pg_tally UPDATE TO '0.9.0'" to load this file. \quit

-- Raises the error for a value no fold could store (src/write/trigger.rs).
CREATE FUNCTION tally."_refuse_value"(
	"metric" TEXT,
	"aggregate" TEXT,
	"value" NUMERIC
) RETURNS NUMERIC
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', '_refuse_value_wrapper';

-- Broken metrics, and why (a table of its own: adding a column to tally._metric would wait
-- for writers that read a definition while writers queued behind this update wait for it).
CREATE TABLE tally._broken (
    metric_id int PRIMARY KEY REFERENCES tally._metric (id) ON DELETE CASCADE,
    reason    text NOT NULL,
    since     timestamptz NOT NULL DEFAULT now()
);
SELECT pg_catalog.pg_extension_config_dump('tally._broken', '');

-- Marked broken now: a metric with a pending change no fold could add (a total past any
-- that 0.9.0 writes, or a value longer than the index takes), written before this update.
INSERT INTO tally._broken (metric_id, reason)
SELECT DISTINCT d.metric_id, 'a pending change written before 0.9.0 holds a value no fold can store'
  FROM tally._delta d
 WHERE (pg_catalog.abs(d.total) OPERATOR(pg_catalog.>=) '1e100000'::pg_catalog.numeric
        OR pg_catalog.pg_column_size(d.value) OPERATOR(pg_catalog.>) 1024)
   AND d.metric_id IN (SELECT m.id FROM tally._metric m);

-- The types of the columns each metric reads: an ALTER COLUMN ... TYPE that does not rewrite
-- the table (timestamp to timestamptz under TimeZone UTC) is followed by a recompute.
CREATE TABLE tally._read_types (
    metric_id int PRIMARY KEY REFERENCES tally._metric (id) ON DELETE CASCADE,
    types     text NOT NULL
);
SELECT pg_catalog.pg_extension_config_dump('tally._read_types', '');
INSERT INTO tally._read_types (metric_id, types)
SELECT m.id, coalesce((SELECT pg_catalog.string_agg(pg_catalog.format('%I %s %s', a.attname,
                                    pg_catalog.format_type(a.atttypid, a.atttypmod), a.attcollation), ', ' ORDER BY a.attname)
                         FROM pg_catalog.pg_attribute a
                        WHERE a.attrelid = m.source AND a.attname OPERATOR(pg_catalog.=) ANY (m.depends_on)
                          AND NOT a.attisdropped), '')
  FROM tally._metric m;

-- A group key as the indexes of tally._state hold it.
CREATE FUNCTION tally._group_index_key(group_key text)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN pg_catalog.octet_length(group_key) OPERATOR(pg_catalog.<=) 128 THEN group_key
                ELSE 'sha512:' OPERATOR(pg_catalog.||) pg_catalog.encode(pg_catalog.sha512(
                         pg_catalog.replace(group_key, E'\\', E'\\\\')::pg_catalog.bytea), 'hex')
           END
$$;

ALTER TABLE tally._state DROP CONSTRAINT _state_key;
CREATE UNIQUE INDEX _state_key ON tally._state
    (metric_id, bucket_start, value, tally._group_index_key(group_key)) NULLS NOT DISTINCT;
DROP INDEX tally._state_values;
CREATE INDEX _state_values ON tally._state
    (metric_id, coalesce(bucket_start, '-infinity'), coalesce(tally._group_index_key(group_key), ''), value)
    WHERE value IS NOT NULL;

-- tally.metrics shows whether a metric is broken.
CREATE OR REPLACE VIEW tally.metrics AS
SELECT m.name,
       m.source,
       m.aggregate,
       m.column_name,
       m.filter,
       m.group_by,
       m.bucket,
       m.bucket_column,
       m.time_zone,
       m.created_at,
       (SELECT b.reason FROM tally._broken b WHERE b.metric_id = m.id) AS broken
  FROM tally._metric m;

-- The value readers look up groups through the new index expression.
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
                   AND coalesce(tally._group_index_key(s.group_key), '') = coalesce(tally._group_index_key(m_group), '')
                   AND s.bucket_start IS NOT DISTINCT FROM m_bucket AND s.group_key IS NOT DISTINCT FROM m_group
                OFFSET 0) f
            ON true);
END
$fn$;

-- The query-based dashboard read shows a broken metric as null, and why under "errors".
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
    -- A broken metric (tally._broken, 0.9.0) reads as null, and why under "errors".
    IF errors IS NOT NULL THEN
        result := result OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('errors', errors);
    END IF;
    RETURN result;
END
$fn$;
ALTER FUNCTION tally._snapshot_query(text, oid) SET search_path = pg_catalog, pg_temp SET jit = off;

-- A rewrite of a source table marks its metrics broken until the ALTER TABLE hook recomputes
-- them (sql/ddl.sql): an ALTER COLUMN ... TYPE ... USING under check_function_bodies = off
-- left them silently wrong before.
CREATE FUNCTION tally._on_table_rewrite() RETURNS event_trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    rewritten oid := pg_event_trigger_table_rewrite_oid();
    root oid := coalesce(pg_partition_root(rewritten), rewritten);
BEGIN
    INSERT INTO tally._broken (metric_id, reason)
    SELECT m.id, format('its table %s was rewritten by %s and not recomputed: the DDL hook that recomputes it did not run',
                        root::regclass, tg_tag)
      FROM tally._metric m
     WHERE m.source::oid = root
        ON CONFLICT (metric_id) DO NOTHING;
END
$fn$;
ALTER FUNCTION tally._on_table_rewrite() SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
CREATE EVENT TRIGGER tally_table_rewrite ON table_rewrite EXECUTE FUNCTION tally._on_table_rewrite();

-- A NULL argument is an error naming it (22004), not a silent NULL: these were STRICT.
ALTER FUNCTION tally.drop_metric(text) CALLED ON NULL INPUT;
ALTER FUNCTION tally.drop_dashboard(text) CALLED ON NULL INPUT;
ALTER FUNCTION tally.value(text) CALLED ON NULL INPUT;
ALTER FUNCTION tally.groups(text) CALLED ON NULL INPUT;
ALTER FUNCTION tally.series(text, timestamptz, timestamptz) CALLED ON NULL INPUT;

-- Raises the error for a group key longer than a metric keeps (src/write/trigger.rs).
CREATE FUNCTION tally."_refuse_group_key"(
	"metric" TEXT,
	"key" TEXT
) RETURNS TEXT
IMMUTABLE STRICT PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', '_refuse_group_key_wrapper';

-- Re-validates the metrics of a table without rebuilding its triggers (src/catalog/define.rs): ALTER
-- TABLE under check_function_bodies = off (checked now, skipped before), ALTER TYPE.
CREATE FUNCTION tally."_check_source"(
	"source" regclass
) RETURNS void
STRICT VOLATILE PARALLEL UNSAFE
LANGUAGE c
AS 'MODULE_PATHNAME', '_check_source_wrapper';
ALTER FUNCTION tally._check_source(regclass) SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
REVOKE EXECUTE ON FUNCTION tally._check_source(regclass) FROM PUBLIC;

-- ALTER TYPE re-validates the metrics it may concern (an enum value a filter names renamed,
-- a typed table's attribute retyped), and so does an ALTER TABLE under
-- check_function_bodies = off.
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
    -- An ALTER TYPE may change what a metric reads without touching its table: an enum value
    -- a filter names renamed, the attribute of a typed table's type retyped (CASCADE). The
    -- sources it may concern are checked, whatever check_function_bodies says: a typed table
    -- of the type (which the ALTER TYPE altered, and locked: rebuilt too), a table with a
    -- column of it or of its array, a metric whose filter names a type the table's owner
    -- owns (a filter uses no other role's type; matching by name alone let anyone's ALTER
    -- TYPE of a type named "(" reach every table). The ALTER TYPE is refused if a metric would
    -- break (0.9.0: every writer of the table failed from then on). A composite type is
    -- reported by its pg_class entry.
    IF EXISTS (SELECT 1 FROM pg_event_trigger_ddl_commands() c WHERE c.command_tag = 'ALTER TYPE') THEN
        FOR root, typed IN
            SELECT m.source::oid, pg_catalog.bool_or(r.reloftype = t.oid)
              FROM pg_event_trigger_ddl_commands() c
              JOIN pg_catalog.pg_type t
                ON (c.classid = 'pg_catalog.pg_type'::pg_catalog.regclass AND t.oid = c.objid)
                OR (c.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND t.typrelid = c.objid)
              JOIN tally._metric m ON true
              JOIN pg_catalog.pg_class r ON r.oid = m.source
             WHERE c.command_tag = 'ALTER TYPE'
               AND (r.reloftype = t.oid
                    OR EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                                WHERE a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
                                  AND a.atttypid IN (t.oid, t.typarray))
                    OR (t.typowner = r.relowner AND pg_catalog.strpos(m.filter, t.typname) > 0))
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
DROP EVENT TRIGGER tally_alter_table;
CREATE EVENT TRIGGER tally_alter_table ON ddl_command_end WHEN TAG IN ('ALTER TABLE', 'CREATE TABLE', 'ALTER TYPE')
    EXECUTE FUNCTION tally._on_alter_table();
