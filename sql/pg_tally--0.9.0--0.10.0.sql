-- pg_tally 0.9.0 -> 0.10.0 (CHANGELOG "0.10.0"): quarter and year buckets. The library also
-- refuses metrics over VIRTUAL generated columns (PostgreSQL 18).
\echo Use "ALTER EXTENSION pg_tally UPDATE TO '0.10.0'" to load this file. \quit

-- The bucket a metric may name. First in this step: the brief ACCESS EXCLUSIVE lock on
-- tally._metric waits for writers in flight and holds new ones back only while the few
-- definition rows are checked.
ALTER TABLE tally._metric
    DROP CONSTRAINT _metric_bucket_check,
    ADD CONSTRAINT _metric_bucket_check
        CHECK (bucket IN ('hour', 'day', 'week', 'month', 'quarter', 'year'));
