-- Who may do what. The counters are only reachable through tally's functions, which check
-- the calling role's rights before acting with the extension owner's.
\set SHOW_CONTEXT never
CREATE ROLE tally_app;      -- owns the tables, defines metrics (the Django role)
CREATE ROLE tally_writer;   -- may only INSERT into the table
CREATE ROLE tally_reader;   -- may only read the dashboard's view
CREATE ROLE tally_nobody;
CREATE SCHEMA app AUTHORIZATION tally_app;
GRANT USAGE ON SCHEMA app TO tally_writer, tally_reader, tally_nobody;

SET ROLE tally_app;
CREATE TABLE app.shop (id serial, status text, amount numeric);
INSERT INTO app.shop (status, amount) VALUES ('A', 1), ('B', 2);
SELECT tally.create_metric('shop_n', 'app.shop', group_by => 'status') IS NOT NULL AS defined;
SELECT tally.create_metric('shop_sum', 'app.shop', 'sum', 'amount') IS NOT NULL AS defined;
SELECT tally.create_dashboard('shop_dash', ARRAY['shop_n', 'shop_sum'], 'app.shop_dashboard');
SELECT viewowner FROM pg_views WHERE viewname = 'shop_dashboard';
-- An unqualified view name goes to the caller's current schema; a schema the caller may
-- not create in is refused (the view would otherwise be created with the extension owner's rights).
SET search_path = app, public;
SELECT tally.create_dashboard('shop_dash2', ARRAY['shop_n'], 'shop_dashboard2');
SELECT schemaname, viewowner FROM pg_views WHERE viewname = 'shop_dashboard2';
SELECT tally.drop_dashboard('shop_dash2');
RESET search_path;
SELECT tally.create_dashboard('shop_dash3', ARRAY['shop_n'], 'pg_catalog.sneaky');
SELECT tally.create_dashboard('shop_dash3', ARRAY['shop_n'], 'tally.sneaky');
GRANT INSERT ON app.shop TO tally_writer;
GRANT USAGE ON SEQUENCE app.shop_id_seq TO tally_writer;
GRANT SELECT ON app.shop_dashboard TO tally_reader;
RESET ROLE;

-- A writer with INSERT rights only keeps the counters exact.
SET ROLE tally_writer;
INSERT INTO app.shop (status, amount) VALUES ('A', 10), ('C', 20);
SELECT count(*) FROM app.shop;
RESET ROLE;
SELECT * FROM tally.verify();

-- The write trigger acts with the extension owner's rights and, to save setting search_path
-- on every statement, has no SET clause: it fixes search_path itself wherever it parses,
-- plans or runs SQL. A writer's hostile "=" for text must never run there (in the filter of
-- the delta INSERT, in the fold, in the compiled single-row filter).
CREATE SCHEMA hostile AUTHORIZATION tally_writer;
SET ROLE tally_app;
SELECT tally.create_metric('shop_a', 'app.shop', filter => $$status = 'A'$$) IS NOT NULL AS defined;
SELECT tally.create_metric('shop_kinds', 'app.shop', 'count_distinct', 'amount', group_by => 'status') IS NOT NULL AS defined;
RESET ROLE;
SET ROLE tally_writer;
CREATE FUNCTION hostile.texteq(text, text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE
    AS $$BEGIN RAISE EXCEPTION 'hijacked: running as %', current_user; END$$;
CREATE OPERATOR hostile.= (LEFTARG = text, RIGHTARG = text, FUNCTION = hostile.texteq);
SET search_path = hostile, pg_catalog, public;
SET tally.compact_threshold = 1;
SELECT 'A'::text = 'A'::text AS hostile_operator_in_effect;
INSERT INTO app.shop (status, amount) VALUES ('A', 3), ('B', 4);
INSERT INTO app.shop (status, amount) VALUES ('A', 5);
INSERT INTO app.shop (status, amount) VALUES ('C', 6);
RESET tally.compact_threshold;
RESET search_path;
RESET ROLE;
SELECT count(*) AS pending_deltas FROM tally._delta;
SELECT tally.value('shop_a') AS shop_a, (SELECT count(*) FROM app.shop WHERE status = 'A') AS live_a,
       tally.value('shop_kinds') AS shop_kinds, (SELECT count(DISTINCT amount) FROM app.shop) AS live_kinds;
SELECT * FROM tally.verify();
SELECT tally.drop_metric('shop_a'), tally.drop_metric('shop_kinds');
DROP SCHEMA hostile CASCADE;

-- A reader granted the dashboard's view reads it, and the snapshot, without table access.
SET ROLE tally_reader;
SELECT id, shop_n, shop_sum FROM app.shop_dashboard;
SELECT tally.snapshot('shop_dash') - 'as_of' AS snapshot;
SELECT tally.value('shop_sum');
SELECT count(*) FROM app.shop;
RESET ROLE;

-- Anyone else gets nothing, and cannot touch definitions or counters.
SET ROLE tally_nobody;
SELECT tally.snapshot('shop_dash');
SELECT * FROM tally.groups('shop_n');
SELECT * FROM tally.verify('shop_n');
SELECT tally.create_metric('mine', 'app.shop');
SELECT tally.drop_metric('shop_n');
SELECT * FROM tally.refresh('shop_n');
SELECT tally.drop_dashboard('shop_dash');
SELECT count(*) FROM tally._state;
INSERT INTO tally._change (metric_id, bucket_start, group_key, n_rows, n_values, total, value)
     VALUES ('{1}', '{NULL}', '{NULL}', '{1000}', '{1000}', '{1000}', '{NULL}');
SELECT count(*) FROM tally._delta;
SELECT tally._revalidate_source('app.shop');
SELECT name FROM tally.metrics ORDER BY name;   -- definitions are public
RESET ROLE;

-- The owner cannot smuggle code into a filter or a column name: filters are one
-- expression of built-in, immutable functions; names are quoted identifiers.
SET ROLE tally_app;
CREATE FUNCTION app.always(text) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT true';
SELECT tally.create_metric('x', 'app.shop', filter => 'app.always(status)');
SELECT tally.create_metric('x', 'app.shop', filter => $$status = 'A'); DELETE FROM app.shop; --$$);
SELECT tally.create_metric('x', 'app.shop', filter => $$status = 'A' -- ); DELETE FROM app.shop$$) IS NOT NULL AS comment_is_harmless;
SELECT filter FROM tally.metrics WHERE name = 'x';
SELECT tally.create_metric('y', 'app.shop', filter => $$(SELECT true FROM pg_authid LIMIT 1)$$);
SELECT tally.create_metric('y', 'app.shop', filter => $$status = 'A' OR pg_sleep(5) IS NULL$$);
SELECT tally.create_metric('y', 'app.shop', filter => $$nextval('app.shop_id_seq') > 0$$);
SELECT tally.create_metric('y', 'app.shop', filter => $$pg_read_file('/etc/passwd') <> ''$$);
SELECT tally.create_metric('y', 'app.shop', 'sum', 'amount); DROP TABLE app.shop; --');
SELECT tally.create_metric('y', 'app.shop', group_by => 'status"; DROP TABLE app.shop; --');
SELECT count(*) AS rows_still_there FROM app.shop;
SELECT tally.drop_dashboard('shop_dash'), tally.drop_metric('shop_n'), tally.drop_metric('shop_sum'), tally.drop_metric('x');
DROP TABLE app.shop;
DROP FUNCTION app.always(text);
RESET ROLE;
DROP SCHEMA app;
DROP ROLE tally_app, tally_writer, tally_reader, tally_nobody;
