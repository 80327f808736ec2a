-- Adversarial: session settings. A writer with INSERT rights only changes every setting
-- that alters how SQL text is read, then writes through the single-row path and the
-- statement path: stored filters are parsed only under pg_tally's fixed settings, so the
-- figures stay exact (verify() against a fresh aggregate) and nothing the writer brought
-- runs. Then a superuser runs the whole API with a hostile schema first on its
-- search_path: no function or operator of that schema may run.
\set SHOW_CONTEXT never
CREATE ROLE set_owner;
CREATE ROLE set_writer;
GRANT CREATE ON SCHEMA public TO set_owner, set_writer;
SET ROLE set_owner;
CREATE TABLE public.set_t (id int, code text, tag text, d date, dur interval, amount numeric, f float8, b bytea);
GRANT INSERT, UPDATE, DELETE, SELECT ON public.set_t TO set_writer;
SELECT tally.create_metric('set_digits', 'set_t', filter => $$code ~ '^\d+$'$$) IS NOT NULL AS defined;
SELECT tally.create_metric('set_tags', 'set_t', 'sum', 'amount', filter => $$tag = ANY ('{a,NULL}')$$) IS NOT NULL AS defined;
SELECT tally.create_metric('set_march', 'set_t', filter => $$d >= '2024-03-01'$$) IS NOT NULL AS defined;
SELECT tally.create_metric('set_long', 'set_t', group_by => 'tag', filter => $$dur > '1 day 02:00:00'$$) IS NOT NULL AS defined;
SELECT tally.create_metric('set_null_eq', 'set_t', filter => $$tag = NULL$$) IS NOT NULL AS defined;
-- float8 and bytea print as the session's extra_float_digits and bytea_output say, though
-- their output functions are immutable: a group key is that text.
SELECT tally.create_metric('set_by_f', 'set_t', group_by => 'f') IS NOT NULL AS defined;
SELECT tally.create_metric('set_by_b', 'set_t', 'sum', 'amount', group_by => 'b') IS NOT NULL AS defined;
SELECT name, filter FROM tally.metrics WHERE name LIKE 'set\_%' ORDER BY name;
RESET ROLE;

CREATE SCHEMA set_hostile AUTHORIZATION set_writer;
SET ROLE set_writer;
CREATE FUNCTION set_hostile.texteq(text, text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE
    AS $$BEGIN RAISE EXCEPTION 'hijacked by %', current_user; END$$;
CREATE OPERATOR set_hostile.= (LEFTARG = text, RIGHTARG = text, FUNCTION = set_hostile.texteq);
SET search_path = set_hostile, pg_catalog, public;
SET standard_conforming_strings = off;
SET escape_string_warning = off;
SET array_nulls = off;
SET transform_null_equals = on;
SET DateStyle = 'SQL, DMY';
SET IntervalStyle = 'sql_standard';
SET TimeZone = 'Pacific/Kiritimati';
SET extra_float_digits = -10;
SET bytea_output = 'escape';
SET tally.compact_threshold = 1;
-- one row (the single-row path), several rows (the statement path), an UPDATE, a DELETE
INSERT INTO public.set_t VALUES (1, '123', 'a', '2024-03-02', '2 days', 10, 1.23456789, decode('42', 'hex'));
INSERT INTO public.set_t VALUES (2, '12a', NULL, '2024-02-28', '1 day', 20, 1.23456789, decode('42', 'hex')),
                                (3, '7', 'NULL', '2024-03-01', '30 hours', 30, 0.1, decode('00ff', 'hex')),
                                (4, '\d', 'b', '2024-04-01', '1 day 02:00:00', 40, 1e-300, NULL);
UPDATE public.set_t SET tag = 'a', dur = '3 days' WHERE id = 2;
DELETE FROM public.set_t WHERE id = 4;
SET tally.direct_writes = off;
INSERT INTO public.set_t VALUES (5, '55', 'a', '2024-03-05', '5 days', 50, 0.1, decode('00ff', 'hex'));
RESET ALL;
RESET ROLE;
SELECT * FROM tally.verify() WHERE metric LIKE 'set\_%';
SELECT tally.value('set_digits') AS digits, (SELECT count(*) FROM set_t WHERE code ~ '^\d+$') AS live_digits,
       tally.value('set_tags') AS tags, (SELECT sum(amount) FROM set_t WHERE tag = ANY ('{a,NULL}')) AS live_tags,
       tally.value('set_march') AS march, (SELECT count(*) FROM set_t WHERE d >= '2024-03-01') AS live_march,
       tally.value('set_null_eq') AS null_eq;
SELECT * FROM tally.groups('set_long');
SELECT * FROM tally.groups('set_by_f');
SELECT * FROM tally.groups('set_by_b');

-- An ALTER TABLE under check_function_bodies = off (which any role may set; pg_restore
-- does) skips the DDL hook that rebuilds the triggers. What the write path compiled for the
-- old row type is then rebuilt for the new one, never read against it.
SET ROLE set_owner;
CREATE TABLE public.set_shape (g text, amount numeric);
SELECT tally.create_metric('set_shape_n', 'set_shape', group_by => 'g') IS NOT NULL AS defined;
SELECT tally.create_metric('set_shape_sum', 'set_shape', 'sum', 'amount') IS NOT NULL AS defined;
INSERT INTO set_shape VALUES ('warmup', 1);
INSERT INTO set_shape VALUES ('compile', 2);
SET check_function_bodies = off;
ALTER TABLE set_shape ALTER COLUMN g TYPE int8 USING 7, ALTER COLUMN amount TYPE int8;
RESET check_function_bodies;
INSERT INTO set_shape VALUES (255, 100);
INSERT INTO set_shape VALUES (256, 1000), (256, 10000);
-- The rewrite (USING 7) changed the values the metrics read: the hook, which under
-- check_function_bodies = off rebuilds no trigger, still recomputed them (0.9.0; 0.8.0 kept
-- the stale groups).
SELECT name, broken IS NOT NULL AS broken FROM tally.metrics WHERE name LIKE 'set_shape%' ORDER BY 1;
SELECT group_key, value FROM tally.groups('set_shape_n');
SELECT tally.value('set_shape_sum') AS shape_sum, (SELECT sum(amount) FROM set_shape) AS live_sum;
SELECT tally.drop_metric('set_shape_n'), tally.drop_metric('set_shape_sum');
DROP TABLE set_shape;
RESET ROLE;

-- A time zone named by an abbreviation follows timezone_abbreviations while the bucket is
-- computed: writers' own abbreviations must not move rows between buckets.
SET ROLE set_owner;
CREATE TABLE public.set_tz (at timestamptz);
GRANT INSERT ON public.set_tz TO set_writer;
SELECT tally.create_metric('set_tz_days', 'set_tz', bucket => 'day', bucket_column => 'at', time_zone => 'EST') IS NOT NULL AS defined;
SET ROLE set_writer;
SET timezone_abbreviations = 'Australia';
INSERT INTO public.set_tz VALUES ('2024-03-01 03:00:00+00');
INSERT INTO public.set_tz VALUES ('2024-03-01 06:00:00+00'), ('2024-03-01 20:00:00+00');
RESET timezone_abbreviations;
RESET ROLE;
SELECT * FROM tally.verify('set_tz_days');
SELECT bucket_start, value FROM tally.series('set_tz_days', '2024-02-28', '2024-03-03');
SELECT tally.drop_metric('set_tz_days');
DROP TABLE set_tz;

-- A filter is stored as the text its deparse reaches when read back under the fixed
-- settings: a varchar column compared with a list reads back with extra casts once.
CREATE TABLE public.set_vc (status varchar(20));
SELECT tally.create_metric('set_vc_n', 'set_vc', filter => $$status IN ('PAID', 'SHIPPED')$$) ->> 'filter' AS stored_filter;
INSERT INTO set_vc VALUES ('PAID'), ('NEW'), ('SHIPPED');
INSERT INTO set_vc VALUES ('SHIPPED');
SELECT tally.value('set_vc_n') AS paid_or_shipped;
SELECT tally.drop_metric('set_vc_n');
DROP TABLE set_vc;

-- A superuser with a hostile schema first on search_path: every pg_tally function it
-- calls names pg_catalog objects explicitly or pins search_path, so none of these runs.
CREATE SCHEMA set_trap;
CREATE TABLE set_trap.ran (query text);
CREATE FUNCTION set_trap.trap() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN INSERT INTO set_trap.ran VALUES (pg_catalog.current_query()); RETURN true; END$$;
CREATE FUNCTION set_trap.texteq(text, text) RETURNS boolean LANGUAGE sql AS $$ SELECT set_trap.trap() AND $1 OPERATOR(pg_catalog.=) $2 $$;
CREATE OPERATOR set_trap.= (LEFTARG = text, RIGHTARG = text, FUNCTION = set_trap.texteq);
CREATE FUNCTION set_trap.int4eq(int, int) RETURNS boolean LANGUAGE sql AS $$ SELECT set_trap.trap() AND $1 OPERATOR(pg_catalog.=) $2 $$;
CREATE OPERATOR set_trap.= (LEFTARG = int, RIGHTARG = int, FUNCTION = set_trap.int4eq);
CREATE FUNCTION set_trap.oideq(oid, oid) RETURNS boolean LANGUAGE sql AS $$ SELECT set_trap.trap() AND $1 OPERATOR(pg_catalog.=) $2 $$;
CREATE OPERATOR set_trap.= (LEFTARG = oid, RIGHTARG = oid, FUNCTION = set_trap.oideq);
CREATE FUNCTION set_trap.textcat(text, text) RETURNS text LANGUAGE sql AS $$ SELECT CASE WHEN set_trap.trap() THEN $1 OPERATOR(pg_catalog.||) $2 END $$;
CREATE OPERATOR set_trap.|| (LEFTARG = text, RIGHTARG = text, FUNCTION = set_trap.textcat);
CREATE FUNCTION set_trap.format(text, VARIADIC text[]) RETURNS text LANGUAGE sql AS $$ SELECT CASE WHEN set_trap.trap() THEN 'x' END $$;
CREATE FUNCTION set_trap.now() RETURNS timestamptz LANGUAGE sql AS $$ SELECT CASE WHEN set_trap.trap() THEN pg_catalog.now() END $$;
CREATE FUNCTION set_trap.unnest(anyarray) RETURNS SETOF anyelement LANGUAGE sql AS $$ SELECT x FROM pg_catalog.unnest($1) x WHERE set_trap.trap() $$;
CREATE FUNCTION set_trap.count(anyelement) RETURNS bigint LANGUAGE sql AS $$ SELECT CASE WHEN set_trap.trap() THEN 0::bigint END $$;
CREATE DOMAIN set_trap.text AS pg_catalog.text CHECK (set_trap.trap());
CREATE DOMAIN set_trap.oid AS pg_catalog.oid CHECK (set_trap.trap());
CREATE DOMAIN set_trap.jsonb AS pg_catalog.jsonb CHECK (set_trap.trap());
CREATE DOMAIN set_trap.numeric AS pg_catalog.numeric CHECK (set_trap.trap());
SET search_path = set_trap, pg_catalog, public;
CREATE TABLE public.set_su (id int, status pg_catalog.text, amount pg_catalog.numeric);
INSERT INTO public.set_su VALUES (1, 'A', 1), (2, 'B', 2);
SELECT tally.create_metric('set_su_n', 'public.set_su', group_by => 'status') IS NOT NULL AS defined;
SELECT tally.create_metric('set_su_sum', 'public.set_su', 'sum', 'amount', filter => $$status = 'A'$$) IS NOT NULL AS defined;
SELECT tally.create_metric('set_su_max', 'public.set_su', 'max', 'amount') IS NOT NULL AS defined;
SELECT tally.create_dashboard('set_su_d', ARRAY['set_su_n', 'set_su_sum'], 'public.set_su_view');
SELECT tally.create_dashboard('set_su_d2', ARRAY['set_su_max']);
INSERT INTO public.set_su VALUES (3, 'A', 3);
INSERT INTO public.set_su VALUES (4, 'C', 4), (5, 'A', 5);
UPDATE public.set_su SET status = 'B' WHERE id OPERATOR(pg_catalog.=) 1;
DELETE FROM public.set_su WHERE id OPERATOR(pg_catalog.=) 2;
SELECT tally.value('set_su_sum') AS su_sum, tally.value('set_su_max') AS su_max;
SELECT * FROM tally.groups('set_su_n');
SELECT count(*) >= 0 AS series_read FROM tally.series('set_su_n', '-infinity', 'infinity');
SELECT tally.snapshot('set_su_d') OPERATOR(pg_catalog.-) 'as_of'::pg_catalog.text AS snapshot;
SELECT tally.snapshot('set_su_d2') OPERATOR(pg_catalog.-) 'as_of'::pg_catalog.text AS snapshot_by_query;
SELECT set_su_sum FROM public.set_su_view;
SELECT tally.compact() OPERATOR(pg_catalog.>=) 0 AS compacted;
SET client_min_messages = warning;  -- refresh() reports timings
SELECT metric, groups FROM tally.refresh('set_su_sum');
RESET client_min_messages;
SELECT * FROM tally.verify();
ALTER TABLE public.set_su ADD COLUMN note pg_catalog.text;
TRUNCATE public.set_su;
SELECT tally.value('set_su_sum') AS after_truncate;
SELECT tally.drop_dashboard('set_su_d'), tally.drop_dashboard('set_su_d2');
SELECT tally.drop_metric('set_su_n'), tally.drop_metric('set_su_sum'), tally.drop_metric('set_su_max');
SELECT query AS trap_ran_in FROM set_trap.ran;
RESET search_path;

SELECT tally.drop_metric(name) FROM tally.metrics WHERE name LIKE 'set\_%' ORDER BY name;
DROP TABLE public.set_su;
DROP SCHEMA set_trap CASCADE;
DROP OWNED BY set_owner, set_writer;
DROP ROLE set_owner, set_writer;
