-- pg_tally 0.21.0 -> 0.22.0 (CHANGELOG "0.22.0"): count_distinct over text in a
-- nondeterministic collation (a case-insensitive ICU collation, as Django's db_collation
-- makes one), counted by the key the collation tells texts apart by: tally._tracked_collated
-- (src/model/value_type.rs, src/ffi/collations.rs). No metric changes.
\echo Use "ALTER EXTENSION pg_tally UPDATE TO '0.22.0'" to load this file. \quit

CREATE FUNCTION tally."_tracked_collated"("value" TEXT) RETURNS NUMERIC
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'tracked_collated_wrapper';
