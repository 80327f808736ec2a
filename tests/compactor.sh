#!/usr/bin/env bash
# The background compactor (pg_tally in shared_preload_libraries): on its own cluster, a
# worker per configured database folds pending deltas without any writer or scheduler doing
# it, idles in a database without the extension, comes back after being killed, and keeps
# every metric exact while 8 sessions write under every isolation level (the concurrency
# test, rerun against this cluster). Needs the current build installed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PGTALLY_PORT="${PGTALLY_COMPACTOR_PORT:-5494}"
export PGTALLY_DATA="$root/.pgdata-compactor"
unset PGTALLY_CRON_DB
export PGTALLY_COMPACTOR_DBS="tally_compactor,postgres,tally_concurrency_read,tally_concurrency_repeatable,tally_concurrency_serializable"
q() { psql -X -qtA -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PGTALLY_PORT" -U postgres "$@"; }
fail() { echo "compactor: FAILED: $*" >&2; tail -20 "$PGTALLY_DATA.log" >&2 || true; exit 1; }
cleanup() { bash "$root/scripts/cluster.sh" stop >/dev/null 2>&1 || true; rm -rf "$PGTALLY_DATA"; }
trap cleanup EXIT
wait_for() {  # seconds, description, sql that must print t
  local i
  for ((i = 0; i < $1 * 10; i++)); do
    [ "$(q -d "${DB:-postgres}" -c "$3" 2>/dev/null)" = t ] && return 0
    sleep 0.1
  done
  fail "$2 (waited $1 s)"
}

rm -rf "$PGTALLY_DATA"
bash "$root/scripts/cluster.sh" start >/dev/null
worker_in() { echo "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE backend_type = 'pg_tally compactor' AND datname = '$1')"; }
DB=postgres wait_for 10 "a compactor worker in postgres" "$(worker_in postgres)"
echo "compactor: worker running in postgres (no pg_tally there: it idles)"

# A configured database that does not exist yet: its worker retries every 5 s, then connects.
q -d postgres -c "CREATE DATABASE tally_compactor"
DB=tally_compactor
DB=postgres wait_for 15 "the worker of a database created after startup" "$(worker_in tally_compactor)"
echo "compactor: worker connected to tally_compactor once it was created"
q -d $DB -c "CREATE EXTENSION pg_tally" >/dev/null
q -d $DB >/dev/null <<'SQL'
CREATE TABLE orders (id serial PRIMARY KEY, customer int, status text, amount numeric(12,2), created_at timestamptz DEFAULT now());
SELECT tally.create_metric('orders', 'orders');
SELECT tally.create_metric('revenue_by_status', 'orders', 'sum', 'amount', group_by => 'status');
SELECT tally.create_metric('customers_today', 'orders', 'count_distinct', 'customer', bucket => 'day', bucket_column => 'created_at');
SELECT tally.create_metric('largest', 'orders', 'max', 'amount');
SQL
# Park the worker (an hour between folds), then 60 single-row statements: 360 delta rows (a
# summary row per metric, plus a value row for the max and the count_distinct), past
# tally.compact_threshold (100) but under the writers' backstop with a compactor (1000), so
# they must all still be pending: writers here leave folding to the worker.
q -d $DB -c "ALTER SYSTEM SET tally.compactor_naptime = '1h'" -c "SELECT pg_reload_conf()" >/dev/null
sleep 1
for i in $(seq 1 60); do
  echo "INSERT INTO orders (customer, status, amount) VALUES ($((i % 7)), 'S$((i % 3))', $i.5);"
done | q -d $DB >/dev/null
[ "$(q -d $DB -c "SELECT count(*) FROM tally._delta")" = 360 ] || fail "writers folded although a compactor serves the database"
# Back to 100 ms: the reload wakes the worker, which folds everything.
q -d $DB -c "ALTER SYSTEM RESET tally.compactor_naptime" -c "SELECT pg_reload_conf()" >/dev/null
wait_for 10 "the worker folded every delta" "SELECT NOT EXISTS (SELECT FROM tally._delta) AND EXISTS (SELECT FROM tally._state)"
[ "$(q -d $DB -c "SET client_min_messages = warning; SELECT count(*) FROM tally.verify()")" = 0 ] || fail "drift after the worker's folds"
[ "$(q -d $DB -c "SELECT tally.value('orders') = 60 AND tally.value('largest') = 60.5 AND tally.value('customers_today') = 7")" = t ] \
  || fail "figures after the worker's folds"
echo "compactor: writers left 360 deltas pending; the worker, woken by a reload, folded them; exact"

q -d $DB -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'pg_tally compactor' AND datname = current_database()" >/dev/null
q -d $DB -c "UPDATE orders SET status = 'S9' WHERE id % 2 = 0; DELETE FROM orders WHERE amount = (SELECT max(amount) FROM orders)" >/dev/null
wait_for 15 "the killed worker is back and folding" \
  "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE backend_type = 'pg_tally compactor' AND datname = current_database()) AND NOT EXISTS (SELECT FROM tally._delta)"
[ "$(q -d $DB -c "SET client_min_messages = warning; SELECT count(*) FROM tally.verify()")" = 0 ] || fail "drift after the restart"
echo "compactor: a killed worker restarts and folds; exact"

echo "compactor: the concurrency test against this cluster (the worker folds while 8 sessions write)"
PGTALLY_TEST_URL="host=127.0.0.1 port=$PGTALLY_PORT user=postgres" PGTALLY_CONCURRENCY_SECONDS="${PGTALLY_CONCURRENCY_SECONDS:-5}" \
  cargo test --quiet --test concurrency -- --nocapture 2>&1 | grep -E "^concurrency|test result|panicked" || fail "concurrency test"
echo "compactor: OK"
