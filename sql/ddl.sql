-- DDL on source tables never leaves a metric silently out of step with its table:
--   DROP TABLE / DROP COLUMN of something a metric uses  -> refused, with the metrics named
--   any other ALTER TABLE of a source                     -> every metric is re-validated
--                                                            (refused if one would break),
--                                                            then its triggers are rebuilt
--   a rewrite of a source (ALTER COLUMN ... TYPE, USING)  -> its metrics recomputed; marked
--                                                            broken if the ALTER TABLE hook
--                                                            is skipped (0.9.0)
--   ALTER TABLE ... RENAME TO                             -> nothing to do (metrics hold the oid)
--   ALTER TYPE (an enum value renamed, a typed table's    -> every metric re-validated (0.9.0)
--   attribute retyped)                                     a metric over the enum's values
--                                                            (0.13.0), grouped by them
--                                                            (0.16.0) or keying arrays or
--                                                            rows by them (0.24.0)
--                                                            recomputed when a label
--                                                            it kept was renamed
--   partitioned sources: CREATE TABLE ... PARTITION OF, ATTACH / DETACH PARTITION
--                                                         -> triggers on every partition
--                                                            rebuilt, metrics recomputed
--   TRUNCATE                                              -> counters emptied by the trigger
--   DROP EXTENSION pg_tally                               -> refused while tables have its
--                                                            triggers, unless CASCADE
CREATE FUNCTION tally._on_sql_drop() RETURNS event_trigger
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

CREATE FUNCTION tally._on_alter_table() RETURNS event_trigger
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
    -- A table pg_tally counts, attached as a partition by this command (0.18.0: its
    -- pg_inherits row is this transaction's, and not one DETACH ... CONCURRENTLY marked):
    -- rows written through its new parent fire none of its statement triggers, so its
    -- figures would drift, and the parent's metrics would clone their triggers onto it (the
    -- ATTACH failed with 42710). Refused, whatever check_function_bodies says. A partition's
    -- metrics from before 0.16.0, attached before, are left as they were.
    SELECT pg_catalog.string_agg(DISTINCT m.name, ', ' ORDER BY m.name) INTO users
      FROM pg_event_trigger_ddl_commands() c
      JOIN pg_catalog.pg_inherits i ON i.inhparent = c.objid AND NOT i.inhdetachpending
      JOIN tally._metric m ON m.source::oid = i.inhrelid
     WHERE c.classid = 'pg_class'::regclass AND c.command_tag = 'ALTER TABLE'
       AND tally._written_now(i.xmin);
    IF users IS NOT NULL THEN
        RAISE EXCEPTION 'cannot attach a table pg_tally counts as a partition'
              USING ERRCODE = 'feature_not_supported',
                    DETAIL = format('Metrics of the attached table: %s. Rows written through its new parent fire none of its own statement triggers, so its figures would drift.', users),
                    HINT = 'Drop those metrics first (tally.drop_metric), then attach it; metrics of the partitioned table count the rows of every partition.';
    END IF;
    -- A table pg_tally counts made an inheritance child by this command (0.18.0, ALTER TABLE
    -- ... INHERIT; found by a hostile probe): rows its parent's UPDATE or DELETE changes
    -- fire none of its statement triggers. Its pg_inherits row is this transaction's.
    SELECT pg_catalog.string_agg(DISTINCT m.name, ', ' ORDER BY m.name) INTO users
      FROM pg_event_trigger_ddl_commands() c
      JOIN pg_catalog.pg_class k ON k.oid = c.objid AND NOT k.relispartition
      JOIN pg_catalog.pg_inherits i ON i.inhrelid = c.objid
      JOIN tally._metric m ON m.source::oid = c.objid
     WHERE c.classid = 'pg_class'::regclass AND c.command_tag = 'ALTER TABLE'
       AND tally._written_now(i.xmin);
    IF users IS NOT NULL THEN
        RAISE EXCEPTION 'cannot make a table pg_tally counts an inheritance child'
              USING ERRCODE = 'feature_not_supported',
                    DETAIL = format('Metrics of the table: %s. Rows its parent''s UPDATE or DELETE changes fire none of its own statement triggers, so its figures would drift.', users),
                    HINT = 'Drop those metrics first (tally.drop_metric), or use a partitioned table (pg_tally follows partitions).';
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

-- A rewrite may change every value a metric read (ALTER COLUMN amount TYPE numeric USING
-- amount * 100): the metrics of the rewritten table (or of the root of its partition tree)
-- are marked broken here, before the rewrite, and recomputed by tally._on_alter_table at the
-- end of the command, which clears the mark. Should that hook not run, they stay broken,
-- visibly, until tally.refresh: never silently wrong.
CREATE FUNCTION tally._on_table_rewrite() RETURNS event_trigger
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

CREATE EVENT TRIGGER tally_sql_drop ON sql_drop EXECUTE FUNCTION tally._on_sql_drop();
-- ALTER VIEW, ALTER MATERIALIZED VIEW and ALTER FOREIGN TABLE (0.15.0, found by a hostile
-- probe): Postgres renames a table's column under any of them (the command is tagged by the
-- keyword written), which the hooks must see as they see ALTER TABLE's.
CREATE EVENT TRIGGER tally_alter_table ON ddl_command_end
    WHEN TAG IN ('ALTER TABLE', 'CREATE TABLE', 'ALTER TYPE', 'ALTER DOMAIN', 'ALTER SCHEMA',
                 'ALTER VIEW', 'ALTER MATERIALIZED VIEW', 'ALTER FOREIGN TABLE')
    EXECUTE FUNCTION tally._on_alter_table();
CREATE EVENT TRIGGER tally_table_rewrite ON table_rewrite EXECUTE FUNCTION tally._on_table_rewrite();
