-- pg_tally 0.19.0 -> 0.20.0 (CHANGELOG "0.20.0"): min, max and count_distinct over Postgres'
-- own types: oid (and the reg* types, by their oid), xid8, pg_lsn, "char", tid and name, and
-- over tsvector; count_distinct over xid and cid. Their values are kept by new overloads of
-- tally._tracked_value (src/model/system_key.rs) and a tsvector by its text
-- (tally._tracked_tsvector; a min or max ordered when read by tsvector's order,
-- tally._sort_key). No metric changes.
-- tally._written_now(xid) keeps its signature; its library function now reads an xid past
-- 2^31 that a join carried.
\echo Use "ALTER EXTENSION pg_tally UPDATE TO '0.20.0'" to load this file. \quit

CREATE FUNCTION tally._tracked_value("value" oid) RETURNS numeric
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'tracked_oid_wrapper';
CREATE FUNCTION tally._tracked_value(value xid) RETURNS numeric
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'tracked_xid_wrapper';
CREATE FUNCTION tally._tracked_value(value cid) RETURNS numeric
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'tracked_cid_wrapper';
CREATE FUNCTION tally._tracked_value(value xid8) RETURNS numeric
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'tracked_xid8_wrapper';
CREATE FUNCTION tally._tracked_value(value pg_lsn) RETURNS numeric
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'tracked_pg_lsn_wrapper';
CREATE FUNCTION tally._tracked_value("value" "char") RETURNS numeric
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'tracked_char_wrapper';
CREATE FUNCTION tally._tracked_value("value" tid) RETURNS numeric
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', 'tracked_tid_wrapper';
CREATE FUNCTION tally._tracked_tsvector("metric" text, "text" text, "reads_back" bool, "in_order" bool) RETURNS numeric
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '_tracked_tsvector_wrapper';

-- As sql/values.sql has it: tsvectors order as their values do, not as their text.
CREATE OR REPLACE FUNCTION tally._sort_key(m_id int) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN t.type_name OPERATOR(pg_catalog.=) 'inet'
                THEN 'tally._text_of(v)::pg_catalog.inet'
                WHEN t.type_name OPERATOR(pg_catalog.=) 'cidr'
                THEN 'tally._text_of(v)::pg_catalog.cidr'
                WHEN t.type_name OPERATOR(pg_catalog.=) 'jsonb'
                THEN 'tally._text_of(v)::pg_catalog.jsonb'
                WHEN t.type_name OPERATOR(pg_catalog.=) 'tsvector'
                THEN 'tally._text_of(v)::pg_catalog.tsvector'
                WHEN t.type_name OPERATOR(pg_catalog.=) 'enum'
                THEN pg_catalog.format('(SELECT e.enumsortorder FROM pg_catalog.pg_enum e '
                                       'WHERE e.enumtypid OPERATOR(pg_catalog.=) %s '
                                       'AND e.enumlabel OPERATOR(pg_catalog.=) tally._text_of(v))',
                                       coalesce((SELECT x.enum_type::pg_catalog.oid FROM tally._value_enum x
                                                  WHERE x.metric_id OPERATOR(pg_catalog.=) m_id), 0))
           END
      FROM tally._value_type t WHERE t.metric_id OPERATOR(pg_catalog.=) m_id
$$;

