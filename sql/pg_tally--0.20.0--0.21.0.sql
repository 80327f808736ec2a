-- pg_tally 0.20.0 -> 0.21.0 (CHANGELOG "0.21.0"): the change queries name a tracked value
-- (min, max, count_distinct) once: tally._kept_value keeps it or refuses it past the size an
-- index takes, where a CASE named it twice, and tally._tracked_tsvector takes the tsvector
-- itself, where the queries named it three times (src/write/trigger.rs,
-- src/model/system_key.rs). The 0.20.0 form of tally._tracked_tsvector stays: a session may
-- still run writes planned before the update. No metric changes. The library's new element
-- types of arrays (oid and the reg* types, xid, cid, xid8, pg_lsn, "char", tid, name,
-- aclitem) and aclitem need no SQL.
\echo Use "ALTER EXTENSION pg_tally UPDATE TO '0.21.0'" to load this file. \quit

CREATE FUNCTION tally."_kept_value"("metric" TEXT, "aggregate" TEXT, "value" NUMERIC) RETURNS NUMERIC
STABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '_kept_value_wrapper';
CREATE FUNCTION tally._tracked_tsvector(metric text, value tsvector, in_order boolean) RETURNS numeric
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'tracked_tsvector_value_wrapper';
