-- count_distinct over arrays of enums and rows with enum fields (0.24.0): "distinct
-- (customer, status) pairs" over an enum status, "distinct flag sets" over an enum[]. Each
-- enum value is keyed by its label, which Postgres' own enum_out gives (unique in its enum);
-- the labels are saved (tally._group_enum), so a label renamed recomputes the metric. The
-- table's owner is no superuser; another role's enum is read as a column; a writer works
-- under hostile settings. Every figure is compared with Postgres' own count(DISTINCT).
\set VERBOSITY default
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE ROLE ek_owner;
CREATE ROLE ek_writer;
CREATE ROLE ek_other;
GRANT CREATE ON SCHEMA public TO ek_owner;
CREATE SCHEMA ek_trap AUTHORIZATION ek_writer;
CREATE SCHEMA ek_theirs AUTHORIZATION ek_other;
GRANT USAGE ON SCHEMA ek_theirs TO PUBLIC;
SET ROLE ek_other;
CREATE TYPE ek_theirs.tier AS ENUM ('free', 'pro');
RESET ROLE;
SET ROLE ek_owner;
-- Labels an array's text would quote: a comma, braces, a quote, the word NULL, spaces,
-- non-ASCII letters.
CREATE TYPE ek_status AS ENUM ('new', 'paid, late', '{x}', 'it''s', 'NULL', ' sp ', 'été');
CREATE DOMAIN ek_status_d AS ek_status;
CREATE TABLE ek_orders (id serial PRIMARY KEY, customer int, status ek_status,
                        flags ek_status[], dflags ek_status_d[], tier ek_theirs.tier,
                        tiers ek_theirs.tier[]);
GRANT INSERT, UPDATE, DELETE, SELECT ON ek_orders TO ek_writer;
GRANT USAGE ON SEQUENCE ek_orders_id_seq TO ek_writer;
INSERT INTO ek_orders (customer, status, flags, dflags, tier, tiers) VALUES
    (1, 'new', '{new,"paid, late"}', '{new}', 'free', '{free}'),
    (1, 'new', '{new,"paid, late"}', '{new}', 'free', '{free,pro}'),
    (1, 'NULL', '{NULL,"NULL"}', '{"NULL"}', 'pro', NULL),
    (2, NULL, '{}', NULL, NULL, '{NULL}'),
    (NULL, 'été', '[0:1]={été,"{x}"}', '{"it''s"}', 'pro', '{pro}');
SELECT tally.create_metric('ek_sets', 'ek_orders', 'count_distinct', 'flags')->>'column_name' AS kept_as;
SELECT tally.create_metric('ek_dsets', 'ek_orders', 'count_distinct', 'dflags')->>'column_name' AS kept_as;
SELECT tally.create_metric('ek_tiers', 'ek_orders', 'count_distinct', 'tiers')->>'column_name' AS kept_as;
SELECT tally.create_metric('ek_pairs', 'ek_orders', 'count_distinct', '(customer, status)')->>'column_name' AS kept_as;
SELECT tally.create_metric('ek_mixed', 'ek_orders', 'count_distinct', '(status, tier, flags[1])')->>'column_name' AS kept_as;
SELECT tally.create_metric('ek_by_status', 'ek_orders', 'count_distinct', 'flags',
                           group_by => 'status') IS NOT NULL AS created;
-- Refused: min and max over an array of enums (its order is the enum's, which its key does
-- not keep) and over a row (42804); a field that names another role's enum (the rules of
-- any value expression: 42501).
SELECT tally.create_metric('bad', 'ek_orders', 'max', 'flags');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('bad', 'ek_orders', 'min', 'dflags');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('bad', 'ek_orders', 'max', '(customer, status)');
\echo :LAST_ERROR_SQLSTATE
SELECT tally.create_metric('bad', 'ek_orders', 'count_distinct', '(customer, tier::text::ek_theirs.tier)');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- The enums whose labels each metric's keys hold, saved (ek_by_status's group column's too).
SELECT m.name, g.enum_type, g.labels
  FROM tally._group_enum g JOIN tally._metric m ON m.id = g.metric_id
 WHERE m.name LIKE 'ek\_%' ORDER BY 1, 2::text;

CREATE FUNCTION ek_check() RETURNS TABLE (metric text, exact boolean) LANGUAGE sql AS $$
    SELECT 'ek_sets', tally.value('ek_sets') = (SELECT count(DISTINCT flags) FROM ek_orders)
    UNION ALL SELECT 'ek_dsets', tally.value('ek_dsets') = (SELECT count(DISTINCT dflags) FROM ek_orders)
    UNION ALL SELECT 'ek_tiers', tally.value('ek_tiers') = (SELECT count(DISTINCT tiers) FROM ek_orders)
    UNION ALL SELECT 'ek_pairs', tally.value('ek_pairs') = (SELECT count(DISTINCT (customer, status)) FROM ek_orders)
    UNION ALL SELECT 'ek_mixed', tally.value('ek_mixed') = (SELECT count(DISTINCT (status, tier, flags[1])) FROM ek_orders)
    UNION ALL SELECT 'ek_by_status', (SELECT coalesce(bool_and(g.value IS NOT DISTINCT FROM l.n), true)
                                        FROM (SELECT * FROM tally.groups('ek_by_status') WHERE value <> 0) g
                                        FULL JOIN (SELECT status::text AS status, count(DISTINCT flags) AS n
                                                     FROM ek_orders GROUP BY 1 HAVING count(DISTINCT flags) > 0) l
                                          ON coalesce(l.status, '(none)') = coalesce(g.group_key, '(none)'))
$$;
SELECT tally.value('ek_sets') AS sets, tally.value('ek_dsets') AS dsets, tally.value('ek_tiers') AS tiers,
       tally.value('ek_pairs') AS pairs, tally.value('ek_mixed') AS mixed;
SELECT * FROM ek_check() WHERE exact IS NOT TRUE;

-- Written by another role under hostile settings: its own schema first in search_path, with
-- an enum of the same name and other labels in it; pending and folded; COPY.
SET ROLE ek_writer;
CREATE TYPE ek_trap.ek_status AS ENUM ('new', 'other');
SET search_path = ek_trap, pg_temp, public;
SET datestyle = 'German';
SET TimeZone = 'Pacific/Kiritimati';
SET array_nulls = off;
INSERT INTO public.ek_orders (customer, status, flags, dflags, tier, tiers)
VALUES (3, 'paid, late', '{"paid, late",new}', '{"paid, late"}', 'free', '{pro,free}');
INSERT INTO public.ek_orders (customer, status, flags, dflags, tier, tiers) VALUES
    (3, 'paid, late', '{new,"paid, late"}', '{" sp "}', 'pro', '{pro,free}'),
    (4, ' sp ', ARRAY[NULL, 'it''s']::public.ek_status[], NULL, NULL, NULL),
    (NULL, NULL, NULL, NULL, NULL, NULL);
COPY public.ek_orders (customer, status, flags, dflags, tier, tiers) FROM stdin;
5	new	{new}	{new}	free	{free}
5	new	{"{x}","it's"}	{}	pro	{}
\N	\N	\N	\N	\N	\N
\.
RESET ALL;
RESET ROLE;
SET client_min_messages = warning;
SELECT * FROM ek_check() WHERE exact IS NOT TRUE;
SELECT tally.compact() >= 0 AS compacted;
SELECT * FROM ek_check() WHERE exact IS NOT TRUE;
-- Single-row statements on the SQL path (direct writes off) and the direct one.
SET tally.direct_writes = off;
INSERT INTO ek_orders (customer, status, flags) VALUES (6, 'été', '{été,été}');
UPDATE ek_orders SET flags = flags || 'new'::ek_status WHERE customer = 6;
SELECT * FROM ek_check() WHERE exact IS NOT TRUE;
RESET tally.direct_writes;
INSERT INTO ek_orders (customer, status, flags) VALUES (7, 'NULL', '{NULL}');
DELETE FROM ek_orders WHERE customer = 6;
SELECT * FROM ek_check() WHERE exact IS NOT TRUE;
-- One of two equal values deleted (the other stays); a rollback; a savepoint.
DELETE FROM ek_orders WHERE id = 1;
SELECT * FROM ek_check() WHERE exact IS NOT TRUE;
BEGIN;
DELETE FROM ek_orders WHERE customer = 3;
SAVEPOINT s;
UPDATE ek_orders SET status = 'it''s', flags = '{it''s}' WHERE customer = 5;
SELECT * FROM ek_check() WHERE exact IS NOT TRUE;
ROLLBACK TO SAVEPOINT s;
SELECT * FROM ek_check() WHERE exact IS NOT TRUE;
ROLLBACK;
SELECT * FROM ek_check() WHERE exact IS NOT TRUE;

-- A label renamed: the keys held the old label, so the metrics whose saved labels changed
-- are recomputed (a delete of a renamed value then finds its key); by the table's owner, and
-- by the owner of another role's enum the table reads. A label added, before the others,
-- changes no key.
SET ROLE ek_owner;
ALTER TYPE ek_status RENAME VALUE 'new' TO 'fresh';
RESET ROLE;
DELETE FROM ek_orders WHERE 'fresh' = ANY (flags) AND customer = 5;
UPDATE ek_orders SET flags = flags || 'fresh'::ek_status WHERE customer = 3;
SELECT * FROM ek_check() WHERE exact IS NOT TRUE;
SET ROLE ek_other;
ALTER TYPE ek_theirs.tier RENAME VALUE 'pro' TO 'premium';
RESET ROLE;
DELETE FROM ek_orders WHERE tier = 'premium' AND customer = 3;
SELECT * FROM ek_check() WHERE exact IS NOT TRUE;
SET ROLE ek_owner;
ALTER TYPE ek_status ADD VALUE 'first' BEFORE 'fresh';
RESET ROLE;
INSERT INTO ek_orders (customer, status, flags, dflags) VALUES (8, 'first', '{first,fresh}', '{first}');
SELECT * FROM ek_check() WHERE exact IS NOT TRUE;
SELECT m.name, g.labels
  FROM tally._group_enum g JOIN tally._metric m ON m.id = g.metric_id
 WHERE m.name = 'ek_pairs';

-- 300 random rows (a fixed seed), NULLs among them; deletes; compact; verify.
SELECT setseed(0.24);
INSERT INTO ek_orders (customer, status, flags, dflags, tier, tiers)
SELECT CASE WHEN random() < 0.1 THEN NULL ELSE (random() * 6)::int END,
       (enum_range(NULL::ek_status))[1 + (random() * 7)::int],
       CASE WHEN random() < 0.1 THEN NULL
            ELSE ARRAY[(enum_range(NULL::ek_status))[1 + (random() * 2)::int],
                       (enum_range(NULL::ek_status))[1 + (random() * 3)::int]] END,
       ARRAY[(enum_range(NULL::ek_status))[1 + (random() * 7)::int]]::ek_status_d[],
       (enum_range(NULL::ek_theirs.tier))[1 + (random() * 2)::int],
       CASE WHEN random() < 0.5 THEN '{free}' ELSE '{premium,free}' END::ek_theirs.tier[]
  FROM generate_series(1, 300);
SELECT * FROM ek_check() WHERE exact IS NOT TRUE;
DELETE FROM ek_orders WHERE id % 3 = 0;
SELECT * FROM ek_check() WHERE exact IS NOT TRUE;
SELECT tally.compact() >= 0 AS compacted;
SELECT * FROM ek_check() WHERE exact IS NOT TRUE;
SELECT count(*) AS drift FROM tally.verify() WHERE metric LIKE 'ek\_%';
SELECT tally.value('ek_pairs') = (SELECT count(DISTINCT (customer, status)) FROM ek_orders)
       AND tally.value('ek_pairs') > 20 AS pairs_exact;

-- The table's own DDL: the array of enums changed to an array of text keeps its keys'
-- meaning only through a recount (the table is rewritten, its metrics recomputed); TRUNCATE.
SET ROLE ek_owner;
ALTER TABLE ek_orders ALTER COLUMN dflags TYPE text[] USING dflags::text[];
RESET ROLE;
SELECT tally.value('ek_dsets') = (SELECT count(DISTINCT dflags) FROM ek_orders) AS dsets_exact;
-- Its enum is no longer saved for it (a rename of ek_status then leaves it alone).
SELECT m.name, g.enum_type FROM tally._group_enum g JOIN tally._metric m ON m.id = g.metric_id
 WHERE m.name = 'ek_dsets';
UPDATE ek_orders SET dflags = '{fresh}' WHERE customer = 1;
SELECT tally.value('ek_dsets') = (SELECT count(DISTINCT dflags) FROM ek_orders) AS dsets_exact;
TRUNCATE ek_orders;
SELECT * FROM ek_check() WHERE exact IS NOT TRUE;

-- The encoder by hand: a row's enum field by its label.
SELECT tally._tracked_record(ROW(1, 'fresh'::ek_status)) = tally._tracked_record(ROW(1, 'fresh'::ek_status)) AS same,
       tally._tracked_record(ROW(1, 'fresh'::ek_status)) <> tally._tracked_record(ROW(1, 'first'::ek_status)) AS apart;

SELECT count(tally.drop_metric(name)) AS dropped FROM tally.metrics WHERE source = 'ek_orders'::regclass;
DROP FUNCTION ek_check();
DROP TABLE ek_orders;
DROP TYPE ek_trap.ek_status;
DROP DOMAIN ek_status_d;
DROP TYPE ek_status;
DROP TYPE ek_theirs.tier;
DROP SCHEMA ek_trap;
DROP SCHEMA ek_theirs;
REVOKE CREATE ON SCHEMA public FROM ek_owner;
DROP ROLE ek_owner;
DROP ROLE ek_writer;
DROP ROLE ek_other;
