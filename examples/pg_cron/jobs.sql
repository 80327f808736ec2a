-- DBA jobs for pg_tally with pg_cron (Debian package postgresql-15-cron; the server needs
-- shared_preload_libraries = 'pg_cron' and cron.database_name = '<this database>').
--
-- Writers already fold pending deltas themselves (tally.auto_compact); a scheduled fold keeps
-- reads at their floor even when writes come in bursts from few sessions.
CREATE EXTENSION IF NOT EXISTS pg_cron;

-- Where the nightly verification records drift (no rows on a healthy system).
CREATE TABLE IF NOT EXISTS tally_drift_log (
    checked_at   timestamptz NOT NULL DEFAULT now(),
    metric       text NOT NULL,
    bucket_start timestamptz,
    group_key    text,
    stored       numeric,
    actual       numeric
);

-- Every minute (pg_cron 1.4, Debian bookworm's, has no sub-minute schedules).
SELECT cron.schedule('tally-compact', '* * * * *', 'SELECT tally.compact()');
-- Nightly at 03:00: record any drift, then repair only the metrics that drifted.
SELECT cron.schedule('tally-verify', '0 3 * * *', $job$
    WITH drift AS (INSERT INTO tally_drift_log (metric, bucket_start, group_key, stored, actual)
                   SELECT * FROM tally.verify() RETURNING metric)
    SELECT tally.refresh(metric) FROM (SELECT DISTINCT metric FROM drift) d
$job$);
