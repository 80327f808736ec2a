-- pg_tally 0.2.0 -> 0.3.0: the dashboard read without the executor.
--
-- tally.snapshot becomes an inlinable SQL function over tally._snapshot_counters (index
-- lookups in the library); the 0.2.0 PL/pgSQL read stays, renamed tally._snapshot_sql, for
-- dashboards with min, max or count_distinct metrics. No table changes, no recompute.
\echo Use "ALTER EXTENSION pg_tally UPDATE TO '0.3.0'" to load this file. \quit

ALTER FUNCTION tally.snapshot(text) RENAME TO _snapshot_sql;
COMMENT ON FUNCTION tally._snapshot_sql(text) IS NULL;

CREATE FUNCTION tally._snapshot_counters(
	"dashboard" TEXT
) RETURNS TEXT
STRICT STABLE PARALLEL SAFE
LANGUAGE c
AS 'MODULE_PATHNAME', '_snapshot_counters_wrapper';

CREATE FUNCTION tally.snapshot(dashboard text) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
AS $fn$
    SELECT coalesce(pg_catalog.jsonb_build_object('as_of', pg_catalog.now())
                    OPERATOR(pg_catalog.||) tally._snapshot_counters(dashboard)::pg_catalog.jsonb,
                    tally._snapshot_sql(dashboard))
$fn$;
COMMENT ON FUNCTION tally.snapshot(text) IS 'The one-row read: every metric of a dashboard as jsonb, with as_of.';
