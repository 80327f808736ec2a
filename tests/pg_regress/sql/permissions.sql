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
INSERT INTO tally._delta VALUES (1, NULL, NULL, 1000, 1000, 1000);
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
