-- Adversarial: an ordinary role (LOGIN, CREATE on schema public, owner of its own tables)
-- attacks through every name it controls and every text argument. It must gain nothing:
-- no superuser, no code of its own run with the extension owner's rights, no object of
-- another role dropped. docs/security.md describes the model. Every attacking function
-- records who ran it in sec_evidence instead of failing, so a run as the extension owner
-- would show up as a row with who = 'postgres'.
\set SHOW_CONTEXT never
CREATE ROLE sec_a;
CREATE ROLE sec_b;
GRANT CREATE ON SCHEMA public TO sec_a, sec_b;
SET ROLE sec_a;
CREATE TABLE public.sec_evidence (who text, what text);
GRANT INSERT ON public.sec_evidence TO PUBLIC;
-- Records the role running it, then tries to become superuser.
CREATE FUNCTION public.sec_pwn(what text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.sec_evidence VALUES (current_user, what);
    BEGIN
        EXECUTE 'ALTER ROLE sec_a SUPERUSER';
    EXCEPTION WHEN OTHERS THEN NULL;
    END;
    RETURN true;
END$$;
CREATE FUNCTION public.sec_pwn_oid(oid) RETURNS boolean LANGUAGE sql AS $$ SELECT public.sec_pwn('oid domain') $$;
CREATE FUNCTION public.sec_pwn_int(int) RETURNS boolean LANGUAGE sql AS $$ SELECT public.sec_pwn('int domain') $$;
CREATE FUNCTION public.sec_leak(int) RETURNS int LANGUAGE sql IMMUTABLE AS $$ SELECT 0 WHERE public.sec_pwn('constant folding') $$;

-- 1. A trigger renamed to SQL text: pg_tally drops its triggers by oid, never by name.
CREATE TABLE public.sec_t (id int, name text);
SELECT tally.create_metric('sec_m', 'sec_t') IS NOT NULL AS defined;
ALTER TRIGGER tally_insert ON sec_t RENAME TO "IF EXISTS x ON public.sec_t; ALTER ROLE sec_a SUPERUSER; --";
SELECT tally.drop_metric('sec_m');
SELECT count(*) AS triggers_left FROM pg_trigger WHERE tgrelid = 'sec_t'::regclass;
SELECT rolsuper FROM pg_roles WHERE rolname = 'sec_a';

-- 2. Types shadowed in the caller's pg_temp: every SECURITY DEFINER function pins
-- search_path = pg_catalog, pg_temp and names its types in pg_catalog.
CREATE TABLE public.sec_t1 (id int);
INSERT INTO sec_t1 VALUES (1), (2);
SELECT tally.create_metric('sec_m1', 'sec_t1') IS NOT NULL AS defined;
SELECT tally.create_dashboard('sec_d1', ARRAY['sec_m1']);
CREATE DOMAIN pg_temp.oid AS pg_catalog.oid CHECK (public.sec_pwn_oid(VALUE));
CREATE DOMAIN pg_temp.jsonb AS pg_catalog.jsonb CHECK (public.sec_pwn('jsonb domain'));
CREATE DOMAIN pg_temp.text AS pg_catalog.text CHECK (public.sec_pwn('text domain'));
CREATE DOMAIN pg_temp.bool AS pg_catalog.bool CHECK (public.sec_pwn('bool domain'));
SELECT tally._snapshot_sql('sec_d1') -> 'sec_m1' AS through_sql;
SELECT tally.snapshot('sec_d1') -> 'sec_m1' AS snapshot;
SELECT tally.value('sec_m1') AS value;
SELECT * FROM tally.verify('sec_m1');
SELECT rolsuper FROM pg_roles WHERE rolname = 'sec_a';
DROP DOMAIN pg_temp.oid, pg_temp.jsonb, pg_temp.text, pg_temp.bool;

-- 3. A domain whose CHECK calls the attacker's function, inside a filter: refused (a
-- domain is not built in) before anything runs.
CREATE DOMAIN public.sec_dom AS int CHECK (public.sec_pwn_int(VALUE));
SELECT tally.create_metric('sec_m3', 'sec_t', filter => '(id::public.sec_dom) IS NOT NULL');
SELECT tally.create_metric('sec_m3', 'sec_t', filter => $$(id, '1'::public.sec_dom) IS NOT NULL$$);
SELECT tally.create_metric('sec_m3', 'sec_t', filter => $$CAST(id AS public.sec_dom) > 0$$);
-- Casts, collations and relations named in a filter are judged the same way.
CREATE COLLATION public.sec_coll (provider = libc, locale = 'C');
SELECT tally.create_metric('sec_m3', 'sec_t', filter => $$name COLLATE public.sec_coll > 'a'$$);
SELECT tally.create_metric('sec_m3', 'sec_t', filter => $$'public.sec_evidence'::regclass IS NOT NULL$$);
SELECT tally.create_metric('sec_m3', 'sec_t', filter => $$id > 'public.sec_leak'::regproc::oid::int$$);

-- A literal's input function runs while the filter is parsed: an array or composite of a
-- domain runs the domain's CHECK there. The parse happens as the table owner inside a
-- security-restricted operation (rolled back with the probe), so the attacker's function
-- runs as the attacker and cannot become anyone else; then the type is refused. Its error
-- says whose rights it had.
CREATE FUNCTION public.sec_tell(int) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        EXECUTE 'ALTER ROLE sec_a SUPERUSER';
    EXCEPTION WHEN OTHERS THEN NULL;
    END;
    RAISE EXCEPTION 'domain check ran as %', current_user;
END$$;
CREATE DOMAIN public.sec_dom2 AS int CHECK (public.sec_tell(VALUE));
CREATE TYPE public.sec_comp AS (d public.sec_dom2);
SELECT tally.create_metric('sec_m3', 'sec_t', filter => $$id = ANY ('{1}'::public.sec_dom2[])$$);
SELECT tally.create_metric('sec_m3', 'sec_t', filter => $$'(1)'::public.sec_comp IS NOT NULL$$);
SELECT tally.create_metric('sec_m3', 'sec_t', filter => $$id = ANY ('{1}'::public.sec_dom[])$$);
CREATE DOMAIN pg_temp.sec_tdom AS int CHECK (public.sec_pwn_int(VALUE));
SELECT tally.create_metric('sec_m3', 'sec_t', filter => $$id = ANY ('{1}'::pg_temp.sec_tdom[])$$);
DROP DOMAIN pg_temp.sec_tdom;
SELECT rolsuper FROM pg_roles WHERE rolname = 'sec_a';

-- The owner's code that runs while the filter is read may change the catalog between two
-- reads of the text: here it drops the domain and creates another of the same name. Every
-- read is the table owner's, and the objects the stored text's own read uses are checked
-- again, a dropped one included.
CREATE FUNCTION public.sec_swap(text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    DROP DOMAIN public.sec_swapped;
    CREATE DOMAIN public.sec_swapped AS text CHECK (public.sec_swap(VALUE));
    RAISE NOTICE 'swapped the domain as %', current_user;
    RETURN true;
END$$;
CREATE DOMAIN public.sec_swapped AS text CHECK (public.sec_swap(VALUE));
SELECT tally.create_metric('sec_swap_m', 'sec_t', filter => $$'{x}'::public.sec_swapped[] IS NOT NULL$$);
SELECT tally.create_metric('sec_self', 'sec_t', filter => $$'public.sec_t'::regclass IS NOT NULL$$);
SELECT rolsuper FROM pg_roles WHERE rolname = 'sec_a';

-- 4. The attacker's function as a constant sub-expression: refused before any planning
-- could fold (and so run) it.
SELECT tally.create_metric('sec_m4', 'sec_t', filter => 'id > public.sec_leak(1)');
SELECT tally.create_metric('sec_m4', 'sec_t', 'sum', 'id', filter => 'public.sec_leak(1) IS NULL');
SELECT tally.create_metric('sec_m4', 'sec_t', group_by => 'name', filter => 'public.sec_pwn(name)');
SELECT * FROM sec_evidence;

-- 5. A filter that is one harmless expression under standard_conforming_strings = on and
-- an injected query under off: stored filters are parsed only under fixed settings.
SELECT tally.create_metric('sec_m5', 'sec_t',
    filter => $f$name = 'a\' OR name = ' OR public.sec_pwn(name))) GROUP BY 2, 3) AS d(m, b, g, x, r, v, t) HAVING pg_catalog.count(*) > 0 --'$f$) IS NOT NULL AS defined;
SELECT filter FROM tally.metrics WHERE name = 'sec_m5';
SET standard_conforming_strings = off;
INSERT INTO sec_t VALUES (1, 'a\\');
INSERT INTO sec_t VALUES (2, 'x'), (3, 'a\\');
SET tally.direct_writes = off;
INSERT INTO sec_t VALUES (4, 'a\\');
RESET tally.direct_writes;
RESET standard_conforming_strings;
SELECT tally.value('sec_m5') AS stored, (SELECT count(*) FROM sec_t WHERE name = 'a\') AS live;
SELECT * FROM tally.verify('sec_m5');
SELECT rolsuper FROM pg_roles WHERE rolname = 'sec_a';

-- The fold lock is not an advisory key another role can hold: a session holding 0.7.0's
-- key does not stop folding.
SELECT pg_advisory_lock(1952541801, 1);
RESET ROLE;
CREATE EXTENSION IF NOT EXISTS dblink;
SELECT dblink_connect('sec_other', 'host=127.0.0.1 user=postgres port=' || current_setting('port') || ' dbname=' || current_database());
SELECT * FROM dblink('sec_other', 'SELECT tally.compact() >= 0, pg_try_advisory_lock(1952541801, 1)') AS t(folded boolean, advisory_free boolean);
SELECT dblink_disconnect('sec_other');
SET ROLE sec_a;
SELECT pg_advisory_unlock(1952541801, 1);

-- pg_tally checks the rights of the role that called it, which is not always the session's:
-- inside the attacker's SECURITY DEFINER function a victim calls, the caller is the
-- attacker; inside an index expression ANALYZE evaluates, the index's owner.
RESET ROLE;
CREATE TABLE public.sec_victim (id int, salary numeric);
ALTER TABLE public.sec_victim OWNER TO sec_b;
SET ROLE sec_b;
INSERT INTO sec_victim VALUES (1, 100), (2, 200);
SELECT tally.create_metric('sec_payroll', 'sec_victim', 'sum', 'salary') IS NOT NULL AS defined;
SET ROLE sec_a;
CREATE FUNCTION public.sec_report() RETURNS text LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    INSERT INTO public.sec_evidence VALUES (current_user, 'read payroll: ' || tally.value('sec_payroll'));
    RETURN 'leaked';
EXCEPTION WHEN OTHERS THEN
    INSERT INTO public.sec_evidence VALUES (current_user, 'refused: ' || SQLERRM);
    RETURN 'refused';
END$$;
GRANT EXECUTE ON FUNCTION public.sec_report() TO sec_b;
-- Reports whether it could drop the victim's metric (an index function may not write).
CREATE FUNCTION public.sec_index_fn(int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    BEGIN
        PERFORM tally.drop_metric('sec_payroll');
        RAISE NOTICE 'index function as %: dropped the payroll metric', current_user;
    EXCEPTION WHEN insufficient_privilege THEN
        RAISE NOTICE 'index function as %: %', current_user, SQLERRM;
    END;
    RETURN $1;
END$$;
CREATE TABLE public.sec_bait (id int);
CREATE INDEX sec_bait_idx ON public.sec_bait (public.sec_index_fn(id));
SET ROLE sec_b;
SELECT public.sec_report();
SET ROLE sec_a;
SELECT who, what FROM sec_evidence ORDER BY 1, 2;
DELETE FROM sec_evidence;
INSERT INTO public.sec_bait VALUES (1);
RESET ROLE;
ANALYZE public.sec_bait;   -- a superuser's ANALYZE evaluates the index expression as sec_a
SET ROLE sec_b;
SELECT tally.value('sec_payroll') AS payroll_still_there;
SET ROLE sec_a;

-- The table owner's code runs whenever pg_tally reads its table (here a FORCE ROW LEVEL
-- SECURITY policy). A setting it changes is discarded before pg_tally's own SQL runs again,
-- so no search_path it sets can bring its operators into that SQL (or into the session of
-- the superuser who ran refresh); inside it, pg_tally's API answers to the table owner.
CREATE FUNCTION public.sec_int4eq(int, int) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    RAISE WARNING 'hijacked int4 = ran as %', current_user;
    RETURN $1 OPERATOR(pg_catalog.=) $2;
END$$;
CREATE OPERATOR public.= (LEFTARG = int, RIGHTARG = int, FUNCTION = public.sec_int4eq);
CREATE FUNCTION public.sec_policy(int) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_catalog.set_config('search_path', 'public, pg_catalog', false);
    BEGIN
        PERFORM tally.value('sec_payroll');
        RAISE WARNING 'policy as % read the payroll', current_user;
    EXCEPTION WHEN insufficient_privilege THEN
        RAISE WARNING 'policy as %: %', current_user, SQLERRM;
    END;
    RETURN true;
END$$;
CREATE TABLE public.sec_force (id int);
INSERT INTO sec_force VALUES (1);
ALTER TABLE sec_force ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY sec_force_p ON sec_force USING (public.sec_policy(id));
-- 0.9.0 refuses a table whose owner is subject to its own policies (the backfill would see
-- only what they show) before anything reads it: the policy's code never runs.
SELECT tally.create_metric('sec_force_n', 'sec_force') IS NOT NULL AS defined;
ALTER TABLE sec_force NO FORCE ROW LEVEL SECURITY;
SELECT tally.create_metric('sec_force_n', 'sec_force') IS NOT NULL AS defined;
ALTER TABLE sec_force FORCE ROW LEVEL SECURITY;   -- refused by the ALTER TABLE hook
RESET ROLE;
ALTER EVENT TRIGGER tally_alter_table DISABLE;    -- without the hook (a superuser's doing)
SET ROLE sec_a;
ALTER TABLE sec_force FORCE ROW LEVEL SECURITY;
RESET ROLE;
ALTER EVENT TRIGGER tally_alter_table ENABLE;
SET ROLE sec_a;
SHOW search_path;
RESET ROLE;
SET client_min_messages = warning;  -- refresh() reports timings
SELECT metric, groups FROM tally.refresh('sec_force_n');
RESET client_min_messages;
SHOW search_path;
SELECT 1 = 1 AS own_operators_only;
SET ROLE sec_a;
SELECT tally.drop_metric('sec_force_n');
DROP TABLE sec_force;
DROP OPERATOR public.= (int, int);

-- Enum types are allowed in a filter only if the table's owner controls them (the stored
-- text names the type: whoever may drop it may put a domain of that name in its place) and
-- they are not temporary (the name would be looked up in each writer's temporary schema).
SET ROLE sec_b;
CREATE TYPE public.sec_b_enum AS ENUM ('a', 'b');
SET ROLE sec_a;
CREATE TYPE public.sec_a_enum AS ENUM ('a', 'b');
SELECT tally.create_metric('sec_enum_b', 'sec_t', filter => $$'a'::public.sec_b_enum IS NOT NULL$$);
SELECT tally.create_metric('sec_enum_a', 'sec_t', filter => $$'a'::public.sec_a_enum < 'b'$$) ->> 'filter' AS own_enum;
SELECT tally.drop_metric('sec_enum_a');
CREATE TYPE pg_temp.sec_temp_enum AS ENUM ('a');
DO $$
BEGIN
    PERFORM tally.create_metric('sec_enum_t', 'sec_t', filter => $f$'a'::pg_temp.sec_temp_enum IS NOT NULL$f$);
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'refused: a temporary type (%)', SQLSTATE;
END$$;
DROP TYPE pg_temp.sec_temp_enum;

-- A metric on a temporary table would outlive its session with no one left to drop it.
CREATE TEMPORARY TABLE sec_temp (id int);
DO $$
DECLARE
    detail text;
BEGIN
    PERFORM tally.create_metric('sec_temp_n', 'pg_temp.sec_temp');
EXCEPTION WHEN wrong_object_type THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
    RAISE NOTICE 'refused: %', detail;
END$$;
DROP TABLE sec_temp;

-- Row-level security: a role a policy limits to some rows reads none of the figures
-- directly; what the owner publishes through a dashboard view it may read.
CREATE TABLE public.sec_rls (id int, tenant text);
INSERT INTO sec_rls VALUES (1, 'a'), (2, 'b'), (3, 'b');
SELECT tally.create_metric('sec_rls_n', 'sec_rls', group_by => 'tenant') IS NOT NULL AS defined;
SELECT tally.create_dashboard('sec_rls_d', ARRAY['sec_rls_n'], 'public.sec_rls_view');
ALTER TABLE sec_rls ENABLE ROW LEVEL SECURITY;
CREATE POLICY sec_rls_own ON sec_rls FOR SELECT USING (tenant = 'a');
GRANT SELECT ON sec_rls TO sec_b;
SET ROLE sec_b;
SELECT count(*) AS rows_b_sees FROM sec_rls;
SELECT tally.value('sec_rls_n');
SELECT * FROM tally.groups('sec_rls_n');
SELECT * FROM tally.series('sec_rls_n', '-infinity', 'infinity');
SELECT * FROM tally.verify('sec_rls_n');
SELECT tally.snapshot('sec_rls_d');
SELECT tally._snapshot_sql('sec_rls_d');
SELECT tally.create_dashboard('sec_rls_mine', ARRAY['sec_rls_n']);
SET ROLE sec_a;
SELECT tally.value('sec_rls_n') AS owner_reads;
GRANT SELECT ON sec_rls_view TO sec_b;
SET ROLE sec_b;
SELECT sec_rls_n FROM sec_rls_view;
SET ROLE sec_a;
-- FORCE ROW LEVEL SECURITY limits the owner too (the ALTER TABLE hook refuses it for a
-- counted table; a superuser disables the hook here).
ALTER TABLE sec_rls FORCE ROW LEVEL SECURITY;
RESET ROLE;
ALTER EVENT TRIGGER tally_alter_table DISABLE;
SET ROLE sec_a;
ALTER TABLE sec_rls FORCE ROW LEVEL SECURITY;
RESET ROLE;
ALTER EVENT TRIGGER tally_alter_table ENABLE;
SET ROLE sec_a;
SELECT tally.value('sec_rls_n') AS owner_under_force;
ALTER TABLE sec_rls NO FORCE ROW LEVEL SECURITY;

-- A typed view publishes only what its dashboard's owner may still read: a role that made a
-- dashboard while it could read the table reads nothing once that right is revoked.
SET ROLE sec_b;
SELECT tally.create_dashboard('sec_payroll_d', ARRAY['sec_payroll'], 'public.sec_payroll_view');
RESET ROLE;
GRANT SELECT ON sec_victim TO sec_a;
SET ROLE sec_a;
SELECT tally.create_dashboard('sec_steal', ARRAY['sec_payroll'], 'public.sec_steal_view');
SELECT sec_payroll FROM sec_steal_view;
RESET ROLE;
REVOKE SELECT ON sec_victim FROM sec_a;
SET ROLE sec_a;
SELECT sec_payroll FROM sec_steal_view;
SELECT tally.snapshot('sec_steal');
SELECT tally._snapshot_sql('sec_steal');
SELECT tally.drop_dashboard('sec_steal');
SET ROLE sec_b;
SELECT tally.drop_dashboard('sec_payroll_d');
SELECT tally.drop_metric('sec_payroll');
SET ROLE sec_a;

-- A role that may read a metric cannot keep its owner from dropping it with a dashboard of
-- its own: the metric is taken out of that dashboard (its typed view reads NULL for it).
-- The owner's own dashboards still protect it from an accidental drop.
CREATE TABLE public.sec_pin (id int);
INSERT INTO sec_pin VALUES (1), (2);
SELECT tally.create_metric('sec_pin_n', 'sec_pin') IS NOT NULL AS defined;
SELECT tally.create_metric('sec_pin_n2', 'sec_pin') IS NOT NULL AS defined;
GRANT SELECT ON sec_pin TO sec_b;
SET ROLE sec_b;
SELECT tally.create_dashboard('sec_pinned', ARRAY['sec_pin_n', 'sec_pin_n2'], 'public.sec_pinned_view');
SET ROLE sec_a;
SELECT tally.create_dashboard('sec_own', ARRAY['sec_pin_n2']);
SELECT tally.drop_metric('sec_pin_n2');
SELECT tally.drop_metric('sec_pin_n');
SET ROLE sec_b;
SELECT name, metrics FROM tally.dashboards WHERE name = 'sec_pinned';
SELECT sec_pin_n, sec_pin_n2 FROM sec_pinned_view;
SET ROLE sec_a;
SELECT tally.drop_dashboard('sec_own');
SELECT tally.drop_metric('sec_pin_n2');
SET ROLE sec_b;
-- Its last metric gone, the dashboard shows nothing, and its view NULLs (it failed with
-- "does not exist" before).
SELECT tally.snapshot('sec_pinned') - 'as_of' AS figures;
SELECT sec_pin_n, sec_pin_n2 FROM sec_pinned_view;
SELECT tally.drop_dashboard('sec_pinned');
-- verify() without a name checks the metrics the caller may read and skips the others.
SELECT count(*) AS drift FROM tally.verify();
SET ROLE sec_a;
DROP TABLE sec_pin;

-- NULL arguments are errors, never a crash.
SELECT tally.create_dashboard(NULL, ARRAY['sec_m1']);
SELECT tally.create_dashboard('sec_null', NULL);
SELECT tally.create_dashboard('sec_null', ARRAY[NULL]);
SELECT tally.create_metric(NULL, 'sec_t');
SELECT tally.create_metric('sec_null', NULL);
SELECT tally.drop_metric(NULL), tally.drop_dashboard(NULL), tally.value(NULL);

-- A dashboard holds its typed view by oid: renamed, it is still the one read and dropped;
-- a view another role creates under the old name is neither trusted nor dropped.
ALTER VIEW sec_rls_view RENAME TO sec_rls_view_renamed;
SELECT view_name FROM tally.dashboards WHERE name = 'sec_rls_d';
SET ROLE sec_b;
CREATE VIEW public.sec_rls_view AS SELECT 1 AS sec_rls_n;
SELECT tally.snapshot('sec_rls_d') - 'as_of' AS still_its_own_view;
SET ROLE sec_a;
SELECT tally.drop_dashboard('sec_rls_d');
SELECT relname FROM pg_class WHERE relname IN ('sec_rls_view', 'sec_rls_view_renamed') ORDER BY 1;

-- Names chosen by the attacker are data, never SQL: metric, dashboard, view and table
-- names with quotes, semicolons and comments.
CREATE TABLE public."sec;t'""--" ("co""l;'" int, "g'; DROP TABLE sec_t; --" text);
INSERT INTO public."sec;t'""--" VALUES (1, 'x'), (2, 'y');
SELECT tally.create_metric($n$sec'; DROP TABLE sec_t; --$n$, $t$public."sec;t'""--"$t$, 'sum', $c$co"l;'$c$,
                           group_by => $g$g'; DROP TABLE sec_t; --$g$) IS NOT NULL AS defined;
SELECT tally.create_dashboard($d$sec'd"; --$d$, ARRAY[$n$sec'; DROP TABLE sec_t; --$n$], $v$public."sec'v;--"$v$);
INSERT INTO public."sec;t'""--" VALUES (3, 'x');
SELECT "sec'; DROP TABLE sec_t; --" FROM public."sec'v;--";
SELECT * FROM tally.groups($n$sec'; DROP TABLE sec_t; --$n$);
SELECT tally.drop_dashboard($d$sec'd"; --$d$);
SELECT tally.drop_metric($n$sec'; DROP TABLE sec_t; --$n$);
SELECT count(*) AS sec_t_still_there FROM sec_t;

-- Another superuser's type is foreign to a metric's expressions (0.21.0; the bootstrap
-- superuser's, such as a trusted extension's citext, are taken): REASSIGN OWNED BY that role
-- fires no event trigger and could give it to the attacker, whose cast the stored text would
-- then run as the table's owner (found by a hostile probe).
RESET ROLE;
CREATE ROLE sec_admin SUPERUSER;
SET ROLE sec_admin;
CREATE DOMAIN public.sec_admin_int AS int;
SET ROLE sec_a;
CREATE TABLE sec_admin_t (id int, s public.sec_admin_int[]);
SELECT tally.create_metric('sec_admin_m', 'sec_admin_t', 'count_distinct', 's::int[]');
\echo :LAST_ERROR_SQLSTATE
DROP TABLE sec_admin_t;
RESET ROLE;
DROP DOMAIN public.sec_admin_int;
DROP ROLE sec_admin;
SET ROLE sec_a;

-- Nothing ran as the extension owner; the attacker is no superuser.
SELECT who, what FROM sec_evidence ORDER BY 1, 2;
SELECT rolsuper FROM pg_roles WHERE rolname = 'sec_a';
SELECT tally.drop_dashboard('sec_d1');
SELECT tally.drop_metric('sec_m1'), tally.drop_metric('sec_m5'), tally.drop_metric('sec_rls_n');
RESET ROLE;
DROP VIEW public.sec_rls_view;
DROP TABLE public.sec_victim;
DROP EXTENSION dblink;
DROP OWNED BY sec_a, sec_b;
DROP ROLE sec_a, sec_b;
