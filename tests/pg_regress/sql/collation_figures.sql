-- min and max over a column's text in a collation created after initdb (0.15.0), as Django's
-- CreateCollation or a DBA makes them. The figure is picked when read by the column's
-- collation as the table has it then (tally._sort_collation), never by a name pg_tally
-- stored: renaming the collation, moving it or its schema, putting another collation in its
-- old place, or handing it to another owner who does any of that changes no figure and
-- blocks no DDL. A value expression's collation is still found by name: refused there.
-- With ICU the collation orders numbers within text by value and ignores case first
-- ('a2' < 'a10', 'b' < 'B'); a build without ICU takes libc's C.utf8. Every check compares
-- with Postgres' own min and max, so the output is the same on both.
\set VERBOSITY default
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE ROLE folk_keeper;
CREATE SCHEMA folk_space AUTHORIZATION folk_keeper;
DO $$ BEGIN EXECUTE format('GRANT CREATE ON DATABASE %I TO folk_keeper', current_database()); END $$;
SET ROLE folk_keeper;
DO $$
BEGIN
    CREATE COLLATION folk_space.folk (provider = icu, locale = 'de-u-kn-true');
EXCEPTION WHEN feature_not_supported THEN  -- "ICU is not supported in this build"
    CREATE COLLATION folk_space.folk (provider = libc, locale = 'C.utf8');
END
$$;
RESET ROLE;
CREATE TABLE names (id int PRIMARY KEY, team int, name text COLLATE folk_space.folk,
                    seen date DEFAULT '2026-06-01');
INSERT INTO names SELECT i, i % 5, (ARRAY['a', 'B', 'ä', 'Z', 'é', 'e', 'b'])[1 + i % 7] || (i % 37)::text
  FROM generate_series(1, 700) i;
INSERT INTO names VALUES (701, 1, NULL), (702, NULL, 'a100'), (703, NULL, NULL);
SELECT tally.create_metric('first_name', 'names', 'min', 'name')->>'column_name';
SELECT tally.create_metric('last_name_by_team', 'names', 'max', 'name', group_by => 'team')->>'column_name';
SELECT tally.create_metric('daily_first_by_team', 'names', 'min', 'name', group_by => 'team',
                           bucket => 'day', bucket_column => 'seen', time_zone => 'UTC')->>'column_name';
SELECT tally.create_metric('names', 'names', 'count_distinct', 'name')->>'column_name';
SELECT tally.create_dashboard('names_board', ARRAY['first_name', 'last_name_by_team', 'names'], 'names_view');
SELECT m.name, t.type_name, t.collation_name FROM tally._value_type t JOIN tally._metric m ON m.id = t.metric_id
 WHERE m.source = 'names'::regclass ORDER BY m.name;
CREATE FUNCTION check_names() RETURNS TABLE (metric text, exact boolean) LANGUAGE sql AS $$
    VALUES ('first_name', tally.value('first_name', NULL::text) IS NOT DISTINCT FROM (SELECT min(name) FROM names)),
           ('last_name_overall', tally.value('last_name_by_team', NULL::text)
                                 IS NOT DISTINCT FROM (SELECT max(name) FROM names)),
           ('last_name_by_team', NOT EXISTS ((SELECT team::text, max(name) FROM names GROUP BY team
                                              EXCEPT ALL SELECT * FROM tally.groups('last_name_by_team', NULL::text))
                                             UNION ALL
                                             (SELECT * FROM tally.groups('last_name_by_team', NULL::text)
                                              EXCEPT ALL SELECT team::text, max(name) FROM names GROUP BY team))),
           ('daily_first_by_team', NOT EXISTS ((SELECT seen::timestamp AT TIME ZONE 'UTC', team::text, min(name) FROM names
                                                 GROUP BY seen, team
                                                EXCEPT ALL
                                                SELECT bucket_start, group_key, value
                                                  FROM tally.series('daily_first_by_team', '2026-05-01', '2026-07-01', NULL::text))
                                               UNION ALL
                                               (SELECT bucket_start, group_key, value
                                                  FROM tally.series('daily_first_by_team', '2026-05-01', '2026-07-01', NULL::text)
                                                EXCEPT ALL
                                                SELECT seen::timestamp AT TIME ZONE 'UTC', team::text, min(name) FROM names
                                                 GROUP BY seen, team))),
           ('names', tally.value('names') = (SELECT count(DISTINCT name) FROM names)),
           ('snapshot', (SELECT s->'first_name' = to_jsonb((SELECT min(name) FROM names))
                            AND s->'last_name_by_team' = (SELECT jsonb_object_agg(coalesce(team::text, 'null'), v)
                                                            FROM (SELECT team, max(name) AS v FROM names GROUP BY team) g)
                          FROM tally.snapshot('names_board') s)),
           ('view', (SELECT first_name IS NOT DISTINCT FROM (SELECT min(name) FROM names) FROM names_view)),
           ('verify', NOT EXISTS (SELECT 1 FROM tally.verify() v WHERE v.metric LIKE '%name%'))
$$;
SET tally.auto_compact = off;
SELECT * FROM check_names() WHERE NOT exact;

-- The extremes deleted and updated away, changes pending, then folded.
DELETE FROM names WHERE name = (SELECT min(name) FROM names);
UPDATE names SET name = name || 'x' WHERE name = (SELECT max(name) FROM names);
UPDATE names SET name = 'A0' WHERE id % 50 = 0;
SELECT * FROM check_names() WHERE NOT exact;
SELECT tally.compact() >= 0 AS folded;
SELECT * FROM check_names() WHERE NOT exact;

-- Its owner renames the collation and puts a byte-ordered one in its old place, then moves
-- it to another schema and renames that: no figure changes, no DDL is refused (each
-- statement below succeeds, and the table's next ALTER TABLE too; the catalog keeps the
-- name the metric was defined with, which only errors show).
SET ROLE folk_keeper;
ALTER COLLATION folk_space.folk RENAME TO folk_was;
CREATE COLLATION folk_space.folk (provider = libc, locale = 'C');
CREATE SCHEMA folk_elsewhere;
ALTER COLLATION folk_space.folk_was SET SCHEMA folk_elsewhere;
ALTER SCHEMA folk_elsewhere RENAME TO folk_moved;
RESET ROLE;
INSERT INTO names VALUES (800, 2, 'a9'), (801, 2, 'a10'), (802, 3, 'B1'), (803, 3, 'b1');
SELECT * FROM check_names() WHERE NOT exact;
SELECT tally.compact() >= 0 AS folded;
SELECT * FROM check_names() WHERE NOT exact;
ALTER TABLE names ADD COLUMN note text;
SELECT * FROM check_names() WHERE NOT exact;

-- Postgres renames a table's column under ALTER VIEW, ALTER MATERIALIZED VIEW and ALTER
-- FOREIGN TABLE too: the hooks refuse each as they refuse ALTER TABLE's (found by a hostile
-- probe: the metric lost its column, its writers failed).
ALTER VIEW names RENAME COLUMN name TO nm;
\echo :LAST_ERROR_SQLSTATE
ALTER MATERIALIZED VIEW names RENAME COLUMN name TO nm;
\echo :LAST_ERROR_SQLSTATE
ALTER FOREIGN TABLE names RENAME COLUMN name TO nm;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE names RENAME COLUMN name TO nm;
\echo :LAST_ERROR_SQLSTATE
-- ALTER TYPE ... RENAME ATTRIBUTE of the table's own row type too (the same probe).
ALTER TYPE names RENAME ATTRIBUTE name TO nm;
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM check_names() WHERE NOT exact;

-- A reader that may not use the collation's schema reads the figures as well.
CREATE ROLE names_reader;
GRANT SELECT ON names TO names_reader;
GRANT SELECT ON names_view TO names_reader;
SET ROLE names_reader;
SELECT tally.value('first_name', NULL::text) IS NOT DISTINCT FROM (SELECT min(name) FROM names) AS value_exact,
       (SELECT count(*) FROM tally.groups('last_name_by_team', NULL::text)) AS groups,
       (SELECT first_name IS NOT DISTINCT FROM (SELECT min(name) FROM names) FROM names_view) AS view_exact;
RESET ROLE;

-- The collation cannot go while the column has it (Postgres' own dependency).
DROP COLLATION folk_moved.folk_was;
\echo :LAST_ERROR_SQLSTATE

-- The column changed to another collation read by sorting (any created after initdb is):
-- the reads follow it at once; to a built-in byte order (which the counters' index would
-- then be read by): refused.
ALTER TABLE names ALTER COLUMN name TYPE text COLLATE "C";
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE names ALTER COLUMN name TYPE text COLLATE folk_space.folk;
SELECT * FROM check_names() WHERE NOT exact;
ALTER TABLE names ALTER COLUMN name TYPE text COLLATE folk_moved.folk_was;
SELECT * FROM check_names() WHERE NOT exact;

-- A value expression is parsed again from its stored text, so that text may not name such
-- a collation, nor may a top-level COLLATE give it (which the text would not keep): 42501.
-- It may read a column in one, which each parse finds through the column (0.15.0). Its min
-- and max would be ordered by that collation found by name: refused (0A000) unless the
-- expression gives a built-in collation; count_distinct takes it.
SELECT tally.create_metric('first_lower', 'names', 'min', 'lower(name)');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('first_lower', 'names', 'min', 'id::text COLLATE folk_moved.folk_was');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('first_lower', 'names', 'min', 'lower(name COLLATE folk_moved.folk_was) COLLATE "C"');
\echo :LAST_ERROR_SQLSTATE
-- Neither a temporary collation (its name is each writer's own) nor a top-level COLLATE of
-- one created after initdb that the stored text would not read back (both found by a
-- hostile probe).
CREATE COLLATION pg_temp.momentary (provider = libc, locale = 'C.utf8');
ALTER TABLE names ADD COLUMN passing text COLLATE pg_temp.momentary;
DO $$  -- the message names the session's own temporary schema (pg_temp_N): SQLSTATE only
BEGIN
    PERFORM tally.create_metric('lower_temp', 'names', 'count_distinct', 'lower(name COLLATE pg_temp.momentary)');
    RAISE WARNING 'accepted';
EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'refused: %', SQLSTATE;
END
$$;
ALTER TABLE names DROP COLUMN passing;
ALTER TABLE names ADD COLUMN alias text COLLATE folk_space.folk;
SELECT tally.create_metric('renamed_order', 'names', 'count_distinct', 'name COLLATE folk_space.folk');
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE names DROP COLUMN alias;
SELECT tally.create_metric('first_lower', 'names', 'min', 'lower(name) COLLATE "C"')->>'column_name';
SELECT tally.create_metric('lower_names', 'names', 'count_distinct', 'lower(name)')->>'column_name';
SELECT tally.value('first_lower', NULL::text) = (SELECT min(lower(name) COLLATE "C") FROM names) AS first_lower_exact,
       tally.value('lower_names') = (SELECT count(DISTINCT lower(name)) FROM names) AS lower_names_exact;
UPDATE names SET name = upper(name) WHERE id % 3 = 0;
SELECT tally.value('first_lower', NULL::text) = (SELECT min(lower(name) COLLATE "C") FROM names) AS first_lower_exact,
       tally.value('lower_names') = (SELECT count(DISTINCT lower(name)) FROM names) AS lower_names_exact;

SELECT tally.drop_dashboard('names_board');
SELECT tally.drop_metric(name) FROM tally.metrics WHERE source = 'names'::regclass ORDER BY name;
DROP FUNCTION check_names();
DROP TABLE names;
DROP SCHEMA folk_space CASCADE;
DROP SCHEMA folk_moved CASCADE;
DROP ROLE names_reader;
DO $$ BEGIN EXECUTE format('REVOKE CREATE ON DATABASE %I FROM folk_keeper', current_database()); END $$;
DROP ROLE folk_keeper;
