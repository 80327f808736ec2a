-- pg_tally 0.16.0 -> 0.17.0 (CHANGELOG "0.17.0"): min and max over time with time zone,
-- money, and the built-in ranges (int4range, int8range, numrange, daterange, tsrange,
-- tstzrange). Their values are kept by a key in their own order, read from the datum
-- (tally._tracked_ordered, src/model/ordered_key.rs); their figures are of their own type.
-- No metric changes: a count_distinct over timetz or money keeps 0.16.0's key.
\echo Use "ALTER EXTENSION pg_tally UPDATE TO '0.17.0'" to load this file. \quit

CREATE FUNCTION tally._tracked_ordered("metric" text, "value" anyelement) RETURNS numeric
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE c AS 'MODULE_PATHNAME', '_tracked_ordered_wrapper';

-- A min or max metric over one of those ranges records the range type's name. Checked
-- against every row: tally._value_type holds one short row per metric.
ALTER TABLE tally._value_type
    DROP CONSTRAINT _value_type_type_name_check,
    ADD CONSTRAINT _value_type_type_name_check
        CHECK (type_name IN ('timestamptz', 'timestamp', 'date', 'time', 'interval', 'uuid', 'boolean',
                             'text', 'inet', 'cidr', 'macaddr', 'macaddr8', 'enum', 'bytea', 'varbit',
                             'float4', 'float8', 'jsonb', 'array', 'range', 'money', 'timetz',
                             'int4range', 'int8range', 'daterange', 'tsrange', 'tstzrange', 'numrange'));

-- The refusals of a value or group key past the limits are volatile: the planner evaluated
-- an immutable call on a value expression that folds to a constant while it planned the
-- change query (src/write/trigger.rs).
ALTER FUNCTION tally._refuse_value(text, text, numeric) VOLATILE;
ALTER FUNCTION tally._refuse_group_key(text, text) VOLATILE;
