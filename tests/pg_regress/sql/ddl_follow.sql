-- DDL that changes what a metric computes without a rewrite is followed or refused, never
-- left silently wrong (0.9.0, found attacking it): row-level security forced on the owner,
-- a column's collation changed, an enum value a filter names renamed, a typed table's
-- attribute retyped.
SET client_min_messages = warning;
-- FORCE ROW LEVEL SECURITY: the owner would backfill, refresh and verify only the rows its
-- policies show, while writers' rows are all counted.
CREATE TABLE secret (id int, v int, hidden bool);
INSERT INTO secret VALUES (1, 10, false), (2, 20, true);
ALTER TABLE secret ENABLE ROW LEVEL SECURITY;
CREATE POLICY visible ON secret USING (NOT hidden);
SELECT tally.create_metric('secret_sum', 'secret', 'sum', 'v') IS NOT NULL AS created;
ALTER TABLE secret FORCE ROW LEVEL SECURITY;
SET check_function_bodies = off;   -- the hook still checks
ALTER TABLE secret FORCE ROW LEVEL SECURITY;
RESET check_function_bodies;
ALTER EVENT TRIGGER tally_alter_table DISABLE;   -- (a superuser) no hook at all:
ALTER TABLE secret FORCE ROW LEVEL SECURITY;
ALTER EVENT TRIGGER tally_alter_table ENABLE;
SELECT metric FROM tally.refresh('secret_sum');   -- ... refresh and verify refuse
SELECT * FROM tally.verify('secret_sum');
ALTER TABLE secret NO FORCE ROW LEVEL SECURITY;
SELECT tally.value('secret_sum') AS total, (SELECT sum(v) FROM secret) AS actual;
SELECT tally.drop_metric('secret_sum');
CREATE TABLE secret2 (v int);
ALTER TABLE secret2 ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
SELECT tally.create_metric('secret2_n', 'secret2');
DROP TABLE secret, secret2;

-- A column's collation changed (no rewrite): a filter comparing text answers otherwise.
CREATE TABLE labels (s text COLLATE "C");
INSERT INTO labels VALUES ('B'), ('a');
SELECT tally.create_metric('labels_below_b', 'labels', filter => $$s < 'b'$$) IS NOT NULL AS created;
SELECT tally.value('labels_below_b') AS before;
ALTER TABLE labels ALTER COLUMN s TYPE text COLLATE "und-x-icu";
SELECT tally.value('labels_below_b') AS after, (SELECT count(*) FROM labels WHERE s < 'b') AS actual;
SELECT * FROM tally.verify('labels_below_b');
SELECT tally.drop_metric('labels_below_b');
DROP TABLE labels;

-- An enum value a filter names, renamed: the filter would no longer parse and every writer
-- of the table would fail; the ALTER TYPE is refused (with the hook skipped too).
CREATE TYPE ticket_state AS ENUM ('open', 'paid');
CREATE TABLE tickets (id int, state ticket_state);
INSERT INTO tickets VALUES (1, 'paid'), (2, 'open');
SELECT tally.create_metric('tickets_paid', 'tickets', filter => $$state = 'paid'$$) IS NOT NULL AS created;
ALTER TYPE ticket_state RENAME VALUE 'paid' TO 'settled';
SET check_function_bodies = off;
ALTER TYPE ticket_state RENAME VALUE 'paid' TO 'settled';
RESET check_function_bodies;
-- A column a filter reads, renamed under check_function_bodies = off: refused too (every
-- write of the table would have failed; 0.8.0 skipped the check).
SET check_function_bodies = off;
ALTER TABLE tickets RENAME COLUMN state TO status;
RESET check_function_bodies;
-- Anyone's ALTER TYPE of a type of theirs checks no other role's table (it rebuilt, and
-- locked until commit, every counted table; then every one whose filter had the type's
-- name in it, such as "(").
SET track_functions = 'all';
CREATE ROLE ddl_stranger;
SET ROLE ddl_stranger;
CREATE TYPE pg_temp."(" AS ENUM ('x');
BEGIN;
ALTER TYPE pg_temp."(" ADD VALUE 'y';
SELECT count(*) AS source_locks FROM pg_locks l JOIN tally._metric m ON m.source::oid = l.relation
 WHERE l.pid = pg_backend_pid();
SELECT coalesce(sum(calls), 0) AS sources_checked FROM pg_stat_xact_user_functions
 WHERE schemaname = 'tally' AND funcname IN ('_check_source', '_revalidate_source');
COMMIT;
RESET ROLE;
RESET track_functions;
DROP TYPE pg_temp."(";
ALTER TYPE ticket_state RENAME VALUE 'open' TO 'opened';   -- one no filter names: fine
INSERT INTO tickets VALUES (3, 'paid');
SELECT tally.value('tickets_paid') AS paid;
SELECT tally.drop_metric('tickets_paid');
DROP TABLE tickets;
DROP TYPE ticket_state;
DROP ROLE ddl_stranger;

-- A typed table's attribute retyped (ALTER TYPE ... CASCADE): a sum over what became text
-- is refused; a retype sum can follow is recomputed.
CREATE TYPE ledger_row AS (id int, amount int);
CREATE TABLE ledger_typed OF ledger_row;
INSERT INTO ledger_typed VALUES (1, 10), (2, 20);
SELECT tally.create_metric('ledger_typed_sum', 'ledger_typed', 'sum', 'amount') IS NOT NULL AS created;
ALTER TYPE ledger_row ALTER ATTRIBUTE amount TYPE text CASCADE;
ALTER TYPE ledger_row ALTER ATTRIBUTE amount TYPE bigint CASCADE;
SELECT name, broken FROM tally.metrics WHERE name = 'ledger_typed_sum';
INSERT INTO ledger_typed VALUES (3, 5000000000);
SELECT tally.value('ledger_typed_sum') AS total, (SELECT sum(amount) FROM ledger_typed) AS actual;
SELECT * FROM tally.verify('ledger_typed_sum');
SELECT tally.drop_metric('ledger_typed_sum');
DROP TABLE ledger_typed;
DROP TYPE ledger_row;
RESET client_min_messages;
