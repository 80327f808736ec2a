#!/usr/bin/env bash
# pg_cron example (examples/pg_cron/jobs.sql) on a real cluster: the scheduled fold runs and
# folds pending deltas, the drift log stays empty on a healthy system and records drift when
# counters are tampered with, and the verify job repairs it. Needs the test cluster started
# with PGTALLY_CRON_DB=tally_cron (scripts/test.sh does that).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
port="${PGTALLY_PORT:?}"
db=tally_cron
q() { psql -X -qtA -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d "$db" "$@"; }
fail() { echo "CRON FAILED: $*" >&2; exit 1; }
psql -X -qtA -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
q -c "CREATE EXTENSION pg_tally" -f "$root/examples/demo/schema.sql" -f "$root/examples/demo/metrics.sql" >/dev/null
q -f "$root/examples/pg_cron/jobs.sql" >/dev/null
# pg_cron's scheduler attaches to its database when the server starts (and stops for good
# when that database is dropped): restart now that the database exists.
PGTALLY_CRON_DB=$db bash "$root/scripts/cluster.sh" restart >/dev/null
q -c "SET tally.auto_compact = off" \
  -c "INSERT INTO users (email) SELECT 'u' || i FROM generate_series(1, 50) i" \
  -c "INSERT INTO orders (user_id, status, amount) SELECT 1 + i % 50, 'PAID', 2.50 FROM generate_series(1, 40) i"
pending=$(q -c "SELECT count(*) FROM tally._delta")
[ "$pending" -gt 0 ] || fail "no pending deltas to fold"
echo "[cron] waiting for the every-minute fold (up to two minute boundaries)"
for _ in $(seq 1 130); do
  [ "$(q -c "SELECT count(*) FROM tally._delta")" = "0" ] && break
  sleep 1
done
[ "$(q -c "SELECT count(*) FROM tally._delta")" = "0" ] || fail "the scheduled tally.compact() did not fold $pending deltas"
q -c "SELECT status FROM cron.job_run_details d JOIN cron.job j USING (jobid) WHERE j.jobname = 'tally-compact' ORDER BY runid DESC LIMIT 1" | grep -qx succeeded \
  || fail "tally-compact job did not succeed"
echo "[cron] scheduled fold folded $pending pending deltas"
# Run the nightly job's command now (as pg_cron would): healthy -> nothing logged.
job=$(q -c "SELECT command FROM cron.job WHERE jobname = 'tally-verify'")
q -c "$job" >/dev/null
[ "$(q -c "SELECT count(*) FROM tally_drift_log")" = "0" ] || fail "drift logged on a healthy system"
# Tamper with a counter (as a bug or a manual edit would): the job records it and repairs it.
q -c "UPDATE tally._state SET n_rows = n_rows + 7, n_values = n_values + 7 WHERE metric_id = (SELECT id FROM tally._metric WHERE name = 'total_orders')"
q -c "$job" >/dev/null
[ "$(q -c "SELECT string_agg(metric, ',') FROM tally_drift_log")" = "total_orders" ] || fail "drift not recorded"
[ "$(q -c "SET client_min_messages = warning; SELECT count(*) FROM tally.verify()")" = "0" ] || fail "drift not repaired"
echo "[cron] nightly verify recorded the tampered metric and refresh repaired it"
q -c "SELECT cron.unschedule(jobname) FROM cron.job" >/dev/null
psql -X -qtA -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "DROP DATABASE $db WITH (FORCE)"
echo "[cron] pg_cron jobs: OK"
