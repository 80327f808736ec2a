-- The floor of any trigger-maintained design (TRIGGER_FLOOR): a statement-level plpgsql
-- trigger that writes one constant row into an append-only, indexed log table per write
-- statement, and nothing else: no transition table, no expression, no fold. Every durable
-- per-statement delta (pg_tally's one `tally._change` row and its index entry included)
-- pays at least this. It maintains no figure; its write ratios show how close a single-row
-- write can get to BASE on this machine with any trigger that writes.
CREATE TABLE statement_log (xact_id xid8 NOT NULL DEFAULT pg_current_xact_id());
CREATE INDEX statement_log_xact ON statement_log (xact_id);

CREATE FUNCTION log_statement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO statement_log DEFAULT VALUES;
  RETURN NULL;
END $$;

CREATE TRIGGER orders_log AFTER INSERT OR UPDATE OR DELETE ON orders
  FOR EACH STATEMENT EXECUTE FUNCTION log_statement();
CREATE TRIGGER users_log AFTER INSERT OR UPDATE OR DELETE ON users
  FOR EACH STATEMENT EXECUTE FUNCTION log_statement();
