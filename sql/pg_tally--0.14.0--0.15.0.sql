-- pg_tally 0.14.0 -> 0.15.0 (CHANGELOG "0.15.0"): min and max over text in a collation
-- created after initdb, for a column's values. The text min and max readers order by the
-- column's collation as its table has it now (tally._sort_collation), not by a stored name.
\echo Use "ALTER EXTENSION pg_tally UPDATE TO '0.15.0'" to load this file. \quit

-- The collation, quoted, that orders the text values of metric m_id (0.15.0): a column's
-- collation as its table has it now, found by the column (pg_attribute.attcollation), so a
-- collation renamed or moved since, or another put in its old place, or a dump and restore
-- that gave it a new oid, changes nothing (the hooks refuse a change of the column's collation
-- that the counters cannot follow). A value expression's is the built-in collation
-- tally._value_type.collation_name names (expressions take no other).
CREATE FUNCTION tally._sort_collation(m_id int) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(
               (SELECT pg_catalog.format('%I.%I', n.nspname, c.collname)
                  FROM tally._metric m
                  JOIN pg_catalog.pg_attribute a
                    ON a.attrelid OPERATOR(pg_catalog.=) m.source
                   AND a.attname OPERATOR(pg_catalog.=) m.column_name AND NOT a.attisdropped
                  JOIN pg_catalog.pg_collation c ON c.oid OPERATOR(pg_catalog.=) a.attcollation
                  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.collnamespace
                 WHERE m.id OPERATOR(pg_catalog.=) m_id),
               (SELECT pg_catalog.format('%I.%I', t.collation_name[1], t.collation_name[2])
                  FROM tally._value_type t WHERE t.metric_id OPERATOR(pg_catalog.=) m_id))
$$;

-- The expression that orders the values of metric m_id as the values themselves order
-- (0.12.0), over a column v of their encodings (src/model/value_type.rs), for the metrics whose
-- encodings do not: a text in a collation that is not byte order (tally._value_type.collation_name
-- says so, tally._sort_collation which it is), inet, cidr (0.13.0), jsonb (0.14.0), an enum (0.13.0: by its labels'
-- order in pg_enum, looked up by the enum's oid, a number here; a label the enum no longer
-- has, which the DDL hooks recompute away, has no place and comes last). NULL for every
-- other metric.
CREATE OR REPLACE FUNCTION tally._sort_key(m_id int) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN t.collation_name IS NOT NULL
                THEN 'tally._text_of(v) COLLATE ' OPERATOR(pg_catalog.||) tally._sort_collation(m_id)
                WHEN t.type_name OPERATOR(pg_catalog.=) 'inet'
                THEN 'tally._text_of(v)::pg_catalog.inet'
                WHEN t.type_name OPERATOR(pg_catalog.=) 'cidr'
                THEN 'tally._text_of(v)::pg_catalog.cidr'
                WHEN t.type_name OPERATOR(pg_catalog.=) 'jsonb'
                THEN 'tally._text_of(v)::pg_catalog.jsonb'
                WHEN t.type_name OPERATOR(pg_catalog.=) 'enum'
                THEN pg_catalog.format('(SELECT e.enumsortorder FROM pg_catalog.pg_enum e '
                                       'WHERE e.enumtypid OPERATOR(pg_catalog.=) %s '
                                       'AND e.enumlabel OPERATOR(pg_catalog.=) tally._text_of(v))',
                                       coalesce((SELECT x.enum_type::pg_catalog.oid FROM tally._value_enum x
                                                  WHERE x.metric_id OPERATOR(pg_catalog.=) m_id), 0))
           END
      FROM tally._value_type t WHERE t.metric_id OPERATOR(pg_catalog.=) m_id
$$;

REVOKE EXECUTE ON FUNCTION tally._sort_collation(integer) FROM PUBLIC;
