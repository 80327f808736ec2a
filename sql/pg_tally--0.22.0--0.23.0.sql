-- pg_tally 0.22.0 -> 0.23.0 (CHANGELOG "0.23.0"): count_distinct over a row of values, such
-- as '(user_id, day)' ("distinct user-days"), counted as count(DISTINCT (user_id, day))
-- counts, by the keys of its fields: tally._tracked_record (src/model/value_type.rs,
-- src/ffi/records.rs). No metric changes.
\echo Use "ALTER EXTENSION pg_tally UPDATE TO '0.23.0'" to load this file. \quit

CREATE FUNCTION tally."_tracked_record"("value" anyelement) RETURNS NUMERIC
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '_tracked_record_wrapper';
