-- pg_tally 0.4.0 -> 0.5.0: a cheaper write trigger.
--
-- tally._on_write keeps SECURITY DEFINER but loses its SET search_path clause: setting and
-- restoring search_path on every write statement cost ~7% of a single-row INSERT. The
-- library now fixes search_path itself around everything the trigger parses, plans or
-- executes (see sql/finalize.sql). A 0.5.0 library on a 0.4.0 catalog works unchanged,
-- only without the saving.
\echo Use "ALTER EXTENSION pg_tally UPDATE TO '0.5.0'" to load this file. \quit

ALTER FUNCTION tally._on_write() RESET search_path;
