-- pg_tally 0.18.0 -> 0.19.0 (CHANGELOG "0.19.0"): min and max over the built-in multiranges
-- and over arrays of inet, cidr, macaddr, macaddr8, bit and varbit. Their keys are read by
-- tally._tracked_ordered (0.17.0); a metric of them records its type's name in
-- tally._value_type, whose names are now the library's own list (tally._known_value_type),
-- so a later version that adds a type changes no constraint. No metric changes.
\echo Use "ALTER EXTENSION pg_tally UPDATE TO '0.19.0'" to load this file. \quit

CREATE FUNCTION tally._known_value_type("name" text) RETURNS bool
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '_known_value_type_wrapper';

-- Checked against every row: tally._value_type holds one short row per metric (a brief
-- ACCESS EXCLUSIVE lock on it). As sql/finalize.sql adds it.
ALTER TABLE tally._value_type
    DROP CONSTRAINT _value_type_type_name_check,
    ADD CONSTRAINT _value_type_type_name_check CHECK (tally._known_value_type(type_name));

-- The typed reads cast a figure's text under array_nulls = on (found by a hostile probe): an
-- array figure writes a NULL element as NULL, which a reader's array_nulls = off took
-- literally. A typed view created from now on reads an array figure through
-- tally._array_figure; one created before keeps its cast (recreate its dashboard to change
-- it). As sql/read.sql has them.
ALTER FUNCTION tally.value(pg_catalog.text, anyelement) SET array_nulls = on;
ALTER FUNCTION tally.groups(pg_catalog.text, anyelement) SET array_nulls = on;
ALTER FUNCTION tally.series(pg_catalog.text, pg_catalog.timestamptz, pg_catalog.timestamptz, anyelement)
    SET array_nulls = on;

CREATE FUNCTION tally._array_figure(figure pg_catalog.text, as_type anyarray) RETURNS anyarray
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp SET array_nulls = on AS $fn$
DECLARE
    result ALIAS FOR $0;
BEGIN
    EXECUTE pg_catalog.format('SELECT $1::%s', pg_catalog.pg_typeof(as_type)) INTO result USING figure;
    RETURN result;
END
$fn$;
