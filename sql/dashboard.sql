-- tally.create_dashboard is a thin SQL function with the caller's rights so that
-- current_schema() is the caller's: an unqualified view_name goes where the caller's own
-- CREATE VIEW would. The work (and the privilege checks) happen in tally._create_dashboard.
CREATE FUNCTION tally.create_dashboard(name text, metrics text[], view_name text DEFAULT NULL)
RETURNS void LANGUAGE sql VOLATILE
AS $$ SELECT tally._create_dashboard(name, metrics, view_name, pg_catalog.current_schema()) $$;
