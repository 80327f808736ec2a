#!/usr/bin/env bash
# Limits: a metric with 100k distinct groups, 12 metrics on one table (a count_distinct over
# 100k values among them), hour buckets over 3 years. Reports time and backend memory of each step and checks every figure is exact.
# PGTALLY_LIMITS_ROWS (default 200000) sizes the tables. Needs the test cluster running.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
port="${PGTALLY_PORT:?}"
rows="${PGTALLY_LIMITS_ROWS:-200000}"
db=tally_limits
psql -X -qtA -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
# One session for everything, so memory is that of one backend doing all of it.
psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d "$db" <<SQL
CREATE EXTENSION pg_tally;
SET client_min_messages = warning;
CREATE TEMP TABLE report (step text, ms numeric, backend_mb numeric);
CREATE FUNCTION pg_temp.step(label text, sql text) RETURNS void LANGUAGE plpgsql AS \$\$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN
  EXECUTE sql;
  INSERT INTO report SELECT label, round(extract(epoch FROM clock_timestamp() - t0)::numeric * 1000, 1),
         round((SELECT sum(total_bytes) FROM pg_backend_memory_contexts) / 1048576.0, 1);
END \$\$;

\o /dev/null
CREATE TABLE events (id bigserial PRIMARY KEY, account int, kind text, amount numeric(12,2), at timestamptz);
SELECT pg_temp.step('load $rows rows (100k accounts, 3 years)', \$q\$
  INSERT INTO events (account, kind, amount, at)
  SELECT i % 100000, (ARRAY['a','b','c','d'])[1 + i % 4], (i % 1000) / 10.0,
         timestamptz '2024-01-01' + (i % (3 * 365 * 24)) * interval '1 hour'
    FROM generate_series(1, $rows) i \$q\$);
SELECT pg_temp.step('create metric grouped by 100k accounts', \$q\$
  SELECT tally.create_metric('per_account', 'events', 'sum', 'amount', group_by => 'account') \$q\$);
SELECT pg_temp.step('create metric: hour buckets over 3 years', \$q\$
  SELECT tally.create_metric('hourly', 'events', bucket => 'hour', bucket_column => 'at', time_zone => 'Europe/Paris') \$q\$);
SELECT pg_temp.step('create 8 more metrics (10 on the table)', \$q\$
  SELECT tally.create_metric('m' || i, 'events', CASE WHEN i % 2 = 0 THEN 'count' ELSE 'avg' END,
                             CASE WHEN i % 2 = 0 THEN NULL ELSE 'amount' END,
                             filter => format('amount > %s', i * 10), group_by => 'kind',
                             bucket => CASE WHEN i % 3 = 0 THEN 'day' END, bucket_column => CASE WHEN i % 3 = 0 THEN 'at' END)
    FROM generate_series(1, 8) i \$q\$);
SELECT pg_temp.step('create count_distinct over 100k accounts (11 metrics)', \$q\$
  SELECT tally.create_metric('distinct_accounts', 'events', 'count_distinct', 'account') \$q\$);
SELECT pg_temp.step('create max amount per kind (12 metrics)', \$q\$
  SELECT tally.create_metric('max_amount_by_kind', 'events', 'max', 'amount', group_by => 'kind') \$q\$);
SELECT pg_temp.step('1000 single-row inserts (12 metrics)', \$q\$
  DO \$d\$ BEGIN FOR i IN 1..1000 LOOP
    INSERT INTO events (account, kind, amount, at) VALUES (i, 'a', 1.5, now());
  END LOOP; END \$d\$ \$q\$);
SELECT pg_temp.step('bulk insert 100k rows (12 metrics)', \$q\$
  INSERT INTO events (account, kind, amount, at)
  SELECT i % 100000, 'b', 2.5, now() - (i % 1000) * interval '1 hour' FROM generate_series(1, 100000) i \$q\$);
SELECT pg_temp.step('update 50k rows across groups and buckets', \$q\$
  UPDATE events SET account = account + 1, at = at + interval '30 minutes' WHERE id % 6 = 0 \$q\$);
SELECT pg_temp.step('count_distinct read with pending deltas', \$q\$ SELECT tally.value('distinct_accounts') \$q\$);
SELECT pg_temp.step('tally.compact()', 'SELECT tally.compact()');
SELECT pg_temp.step('count_distinct read, 100k values (folded)', \$q\$ SELECT tally.value('distinct_accounts') \$q\$);
SELECT pg_temp.step('max per kind after deleting each maximum', \$q\$
  DELETE FROM events WHERE amount = (SELECT max(amount) FROM events); SELECT * FROM tally.groups('max_amount_by_kind') \$q\$);
SELECT pg_temp.step('read 100k groups (tally.groups)', \$q\$ SELECT count(*) FROM tally.groups('per_account') \$q\$);
SELECT pg_temp.step('read 3 years of hours (tally.series)', \$q\$ SELECT count(*) FROM tally.series('hourly', '2024-01-01', now() + interval '1 day') \$q\$);
SELECT pg_temp.step('tally.value on the hourly metric', \$q\$ SELECT tally.value('hourly') \$q\$);
SELECT pg_temp.step('tally.refresh() of all 12 metrics', 'SELECT count(*) FROM tally.refresh()');
CREATE TEMP TABLE drift AS SELECT * FROM tally.verify();
SELECT pg_temp.step('tally.verify() of all 12 metrics', 'SELECT count(*) FROM tally.verify()');
\o
\pset footer off
SELECT step, ms, backend_mb FROM report;
SELECT (SELECT count(*) FROM tally._state) AS state_rows, (SELECT count(*) FROM tally._delta) AS pending_deltas,
       pg_size_pretty(pg_total_relation_size('tally._state')) AS state_size,
       (SELECT count(*) FROM tally.groups('per_account')) AS account_groups,
       (SELECT count(*) FROM tally.series('hourly', '2024-01-01', now() + interval '1 day')) AS hour_buckets;
SELECT CASE WHEN count(*) = 0 THEN 'limits: every metric exact'
            ELSE 'LIMITS DRIFT: ' || count(*) || ' groups differ' END AS verdict FROM drift \gset
\echo :verdict
SQL
drift=$(psql -X -qtA -h 127.0.0.1 -p "$port" -U postgres -d "$db" -c "SET client_min_messages = warning; SELECT count(*) FROM tally.verify()")
psql -X -qtA -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "DROP DATABASE $db WITH (FORCE)"
[ "$drift" = "0" ] || { echo "limits: drift after the run" >&2; exit 1; }
