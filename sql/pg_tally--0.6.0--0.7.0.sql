-- pg_tally 0.6.0 -> 0.7.0: sums and averages stay exact through NaN and infinite values.
--
-- Until 0.6.0 a NaN (or an infinity) in a summed numeric column was added to the counter's
-- total, which kept it forever: deleting the row subtracted NaN from NaN. From 0.7.0 the
-- write trigger adds each non-finite value as a count at a fixed power of ten (1e1000 NaN,
-- 1e2000 Infinity, 1e3000 -Infinity) and tally._figure decodes it, so deleting or updating
-- the row takes it out again. Only the figure functions change; no stored counter is
-- rewritten. A total that already absorbed a NaN still reads NaN: tally.verify() lists it
-- and tally.refresh('metric') recomputes it. Between installing the 0.7.0 library and this
-- update, a NaN or infinity written meanwhile reads as its count (1e1000 ...) in the figure.
--
-- Also: tally._state and tally._change get REPLICA IDENTITY FULL, so that a publication
-- FOR ALL TABLES no longer makes every fold (and every write that folds), metric drop and
-- TRUNCATE fail with "cannot update table ... because it does not have a replica identity".
--
-- Also: the write triggers fire whatever session_replication_role is (ENABLE ALWAYS): until
-- 0.6.0 a session that set it to replica (a bulk load skipping foreign-key checks) wrote rows
-- no metric counted.
\echo Use "ALTER EXTENSION pg_tally UPDATE TO '0.7.0'" to load this file. \quit

-- Every existing pg_tally trigger fires ALWAYS, as 0.7.0 creates them. ALTER TABLE needs
-- SHARE ROW EXCLUSIVE on the source, which a writer holding it while it waits for this
-- update (an update through 0.6.0 locks the pending changes first) would turn into a
-- deadlock: a table whose lock is not free at once keeps its triggers, with a WARNING (an
-- extension script shows no NOTICE) naming the command that converts them later. The ALTER
-- TABLE event trigger is paused meanwhile: nothing about the tables changes, so nothing is
-- rebuilt.
ALTER EVENT TRIGGER tally_alter_table DISABLE;
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT tg.tgrelid::pg_catalog.regclass AS tab, tg.tgname
               FROM pg_catalog.pg_trigger tg
              WHERE tg.tgfoid = 'tally._on_write()'::pg_catalog.regprocedure
                AND tg.tgenabled OPERATOR(pg_catalog.<>) 'A'
              ORDER BY 1, 2 LOOP
        BEGIN
            EXECUTE pg_catalog.format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE NOWAIT', t.tab);
            EXECUTE pg_catalog.format('ALTER TABLE %s ENABLE ALWAYS TRIGGER %I', t.tab, t.tgname);
        EXCEPTION WHEN lock_not_available THEN
            RAISE WARNING 'pg_tally: trigger % on % still skips sessions with session_replication_role = replica (the table was busy)', t.tgname, t.tab
                  USING HINT = pg_catalog.format('Run ALTER TABLE %s ENABLE ALWAYS TRIGGER %I at a quiet moment: it rebuilds all of the table''s pg_tally triggers to fire always.', t.tab, t.tgname);
        END;
    END LOOP;
END
$$;
ALTER EVENT TRIGGER tally_alter_table ENABLE;

-- See bootstrap.sql: neither table has a key that could identify its rows to a publication.
ALTER TABLE tally._state REPLICA IDENTITY FULL;
ALTER TABLE tally._change REPLICA IDENTITY FULL;

-- The figure of a sum or avg whose total counts NaN, Infinity or -Infinity values (0.7.0):
-- a summed value adds itself when finite, else one count at 1e1000 (NaN), 1e2000 (Infinity)
-- or 1e3000 (-Infinity) (src/sqlgen.rs, summand_sql), so deleting the row takes it out again,
-- which a NaN added to the total itself never allowed. Decoded as Postgres' sum and avg
-- treat them: any NaN, or both infinities, give NaN; else the infinity present. A NaN total
-- comes from a release before 0.7.0 (tally.refresh recomputes it). OPERATOR() forms all
-- share one precedence: products are parenthesized.
CREATE FUNCTION tally._non_finite_figure(total numeric)
RETURNS numeric LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN total OPERATOR(pg_catalog.=) 'NaN' THEN 'NaN'::pg_catalog.numeric
                WHEN c.nan OPERATOR(pg_catalog.>) 0
                     OR (c.infinity OPERATOR(pg_catalog.>) 0 AND c.minus_infinity OPERATOR(pg_catalog.>) 0)
                     THEN 'NaN'::pg_catalog.numeric
                WHEN c.infinity OPERATOR(pg_catalog.>) 0 THEN 'Infinity'::pg_catalog.numeric
                WHEN c.minus_infinity OPERATOR(pg_catalog.>) 0 THEN '-Infinity'::pg_catalog.numeric
                ELSE total
           END
      FROM (SELECT m.minus_infinity, i.infinity,
                   pg_catalog.round((i.rest OPERATOR(pg_catalog.-) (i.infinity OPERATOR(pg_catalog.*) '1e2000'::pg_catalog.numeric))
                                    OPERATOR(pg_catalog./) '1e1000'::pg_catalog.numeric) AS nan
              FROM (SELECT pg_catalog.round(total OPERATOR(pg_catalog./) '1e3000'::pg_catalog.numeric) AS minus_infinity) m,
                   LATERAL (SELECT r.rest, pg_catalog.round(r.rest OPERATOR(pg_catalog./) '1e2000'::pg_catalog.numeric) AS infinity
                              FROM (SELECT total OPERATOR(pg_catalog.-) (m.minus_infinity OPERATOR(pg_catalog.*) '1e3000'::pg_catalog.numeric)
                                           AS rest) r) i) c
$$;

-- A metric's figure from summed counters: count -> 0 and sum -> 0 when there are no rows,
-- avg -> NULL. Plain SQL so the planner inlines it; operators are spelled out so a caller's
-- search_path cannot redirect them inside SECURITY DEFINER reads. A total of 5e999 or more
-- counts non-finite values (tally._non_finite_figure).
CREATE OR REPLACE FUNCTION tally._figure(aggregate text, n_values numeric, total numeric)
RETURNS numeric LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN aggregate OPERATOR(pg_catalog.=) 'count' THEN coalesce(n_values, 0)
                WHEN total OPERATOR(pg_catalog.>=) '5e999'::pg_catalog.numeric THEN tally._non_finite_figure(total)
                WHEN aggregate OPERATOR(pg_catalog.=) 'sum' THEN coalesce(total, 0)
                WHEN n_values OPERATOR(pg_catalog.=) 0 THEN NULL
                ELSE total OPERATOR(pg_catalog./) n_values
           END
$$;
