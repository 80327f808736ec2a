#!/usr/bin/env bash
# Logical replication, on its own cluster with wal_level = logical (publisher and subscriber
# are two databases of it):
#   1. the publishing side: pg_tally's metrics stay exact while a subscription decodes and
#      applies the published table, and pg_tally's own tables (REPLICA IDENTITY FULL) fold
#      under a publication FOR ALL TABLES;
#   2. the subscribing side: the apply worker fires no statement trigger, so create_metric on
#      a table a subscription writes into, or a partitioned table one of whose partitions it
#      writes into, warns (SQLSTATE 01000, with a hint), verify() reports
#      the drift the replicated rows cause, and refresh() makes the figures exact again; a
#      metric on a table no subscription writes into gets no warning.
# Needs the current build installed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PGTALLY_PORT="${PGTALLY_LOGICAL_PORT:-5493}"
export PGTALLY_DATA="$root/.pgdata-logical"
export PGTALLY_SERVER_OPTIONS="-c wal_level=logical"
unset PGTALLY_CRON_DB PGTALLY_COMPACTOR_DBS
q() { local db=$1; shift; psql -X -qtA -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PGTALLY_PORT" -U postgres -d "$db" "$@"; }
fail() { echo "logical: FAILED: $*" >&2; tail -20 "$PGTALLY_DATA.log" >&2 || true; exit 1; }
cleanup() {
  q pub -c "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots" >/dev/null 2>&1 || true
  bash "$root/scripts/cluster.sh" stop >/dev/null 2>&1 || true
  rm -rf "$PGTALLY_DATA"
}
# PGTALLY_KEEP=1 leaves the cluster running after the test, to look into a failure.
[ -n "${PGTALLY_KEEP:-}" ] || trap cleanup EXIT
wait_for() {  # seconds, description, db, sql that must print t
  local i
  for ((i = 0; i < $1 * 10; i++)); do
    [ "$(q "$3" -c "$4" 2>/dev/null)" = t ] && return 0
    sleep 0.1
  done
  fail "$2 (waited $1 s)"
}
# Every metric of the database equals its live aggregate.
exact() { [ "$(q "$1" -c "SET client_min_messages = warning; SELECT count(*) FROM tally.verify()")" = 0 ]; }

rm -rf "$PGTALLY_DATA"
bash "$root/scripts/cluster.sh" start >/dev/null
[ "$(q postgres -c "SHOW wal_level")" = logical ] || fail "wal_level is not logical"

schema="CREATE TABLE orders (id int PRIMARY KEY, status text, amount numeric(12,2));
        CREATE TABLE notes (id serial PRIMARY KEY, body text);"
q postgres -c "CREATE DATABASE pub" -c "CREATE DATABASE sub"
# events_low is a plain table on the publisher and a partition of events on the subscriber.
q pub -c "$schema" -c "CREATE TABLE events_low (id int PRIMARY KEY, kind text)" -c "CREATE EXTENSION pg_tally" >/dev/null
q sub -c "$schema" -c "CREATE TABLE events (id int PRIMARY KEY, kind text) PARTITION BY RANGE (id)" \
      -c "CREATE TABLE events_low PARTITION OF events FOR VALUES FROM (MINVALUE) TO (1000000)" \
      -c "CREATE EXTENSION pg_tally" >/dev/null

# --- 1. the publishing side ------------------------------------------------------------------
q pub >/dev/null <<'SQL'
SELECT tally.create_metric('orders', 'orders');
SELECT tally.create_metric('revenue_by_status', 'orders', 'sum', 'amount', group_by => 'status');
INSERT INTO orders SELECT i, (ARRAY['PAID', 'PENDING', 'SHIPPED'])[1 + i % 3], i * 1.25 FROM generate_series(1, 300) i;
CREATE PUBLICATION orders_pub FOR TABLE orders, events_low;
CREATE PUBLICATION everything FOR ALL TABLES;
-- A subscription to the same cluster cannot create its slot itself (it would wait for its
-- own transaction): the slot is made first.
SELECT pg_create_logical_replication_slot('orders_sub', 'pgoutput');
-- A second slot, read with the publication everything (pg_tally's tables included).
SELECT pg_create_logical_replication_slot('everything', 'pgoutput');
SQL
q sub -c "CREATE SUBSCRIPTION orders_sub CONNECTION 'host=127.0.0.1 port=$PGTALLY_PORT user=postgres dbname=pub' \
          PUBLICATION orders_pub WITH (create_slot = false, slot_name = 'orders_sub')" >/dev/null
wait_for 30 "the initial copy of orders" sub \
  "SELECT (SELECT count(*) FROM orders) = 300 AND NOT EXISTS (SELECT FROM pg_subscription_rel WHERE srsubstate <> 'r')"

# Writes on the publisher that fold on every statement, decoded and sent meanwhile.
q pub >/dev/null <<'SQL'
SET tally.compact_threshold = 1;
UPDATE orders SET status = 'REFUNDED' WHERE id % 10 = 0;
DELETE FROM orders WHERE id % 7 = 0;
INSERT INTO orders SELECT i, 'PAID', 3.50 FROM generate_series(301, 350) i;
SELECT tally.compact();
SQL
exact pub || fail "drift on the publisher"
# pg_tally's own changes decode under the publication everything: the folds' updates and
# deletes of tally._state and tally._change are there, with their old rows.
# (pgoutput announces each table it sends changes of with a relation message naming it.)
tables=$(q pub -c "SELECT string_agg(t, ',' ORDER BY t) FROM unnest(ARRAY['_state', '_change', 'orders']) t \
          WHERE EXISTS (SELECT FROM pg_logical_slot_peek_binary_changes('everything', NULL, NULL, \
                          'proto_version', '1', 'publication_names', 'everything') c \
                         WHERE position(convert_to(t, 'UTF8') IN c.data) > 0)") || fail "decoding pg_tally's tables"
[ "$tables" = "_change,_state,orders" ] || fail "the publication everything decoded changes of '$tables' only"
echo "logical: publisher exact through folds on every statement, decoded by a slot"

# --- 2. the subscribing side -----------------------------------------------------------------
live_count() { q pub -c "SELECT count(*) FROM orders"; }
wait_for 30 "the subscriber caught up" sub "SELECT count(*) = $(live_count) FROM orders"
warning=$(q sub -c "SELECT tally.create_metric('sub_orders', 'orders')" \
          -c "SELECT tally.create_metric('sub_revenue', 'orders', 'sum', 'amount')" 2>&1 >/dev/null)
echo "$warning" | grep -q 'WARNING:  metric "sub_orders" will not count the rows that logical replication writes into public.orders' \
  || fail "no warning for a metric on a subscribed table: $warning"
echo "$warning" | grep -q 'HINT:  Define the metric on the publisher' || fail "the warning has no hint: $warning"
q sub -c "\\set VERBOSITY verbose" -c "SELECT tally.create_metric('sub_orders_2', 'orders')" 2>&1 >/dev/null \
  | grep -q 'WARNING:  01000' || fail "the warning's SQLSTATE is not 01000"
exact sub || fail "subscriber figures differ right after create_metric (the backfill)"
# A partitioned table one of whose partitions the subscription writes into.
warning=$(q sub -c "SELECT tally.create_metric('sub_events', 'events')" 2>&1 >/dev/null)
echo "$warning" | grep -q 'WARNING:  metric "sub_events" will not count the rows that logical replication writes into public.events' \
  || fail "no warning for a metric on a partitioned table with a subscribed partition: $warning"
quiet=$(q sub -c "SELECT tally.create_metric('notes', 'notes')" 2>&1 >/dev/null)
[ -z "$quiet" ] || fail "a warning for a table no subscription writes into: $quiet"
echo "logical: create_metric on the subscriber warns (01000, hint) for subscribed tables and partition trees only"

# Replicated rows do not reach the subscriber's figures (no statement trigger fires), and
# verify() says so; refresh() puts them right.
q pub -c "INSERT INTO orders SELECT i, 'PAID', 10 FROM generate_series(1001, 1040) i" \
      -c "INSERT INTO events_low SELECT i, 'click' FROM generate_series(1, 25) i" >/dev/null
wait_for 30 "the replicated INSERTs" sub "SELECT count(*) = $(live_count) AND (SELECT count(*) FROM events) = 25 FROM orders"
drift=$(q sub -c "SET client_min_messages = warning; SELECT string_agg(metric, ',' ORDER BY metric) FROM tally.verify()")
[ "$drift" = "sub_events,sub_orders,sub_orders_2,sub_revenue" ] || fail "verify() on the subscriber reported '$drift'"
q sub -c "SET client_min_messages = warning; SELECT count(*) FROM tally.refresh()" >/dev/null
exact sub || fail "drift after refresh on the subscriber"
# Local writes on the subscriber are counted as everywhere else.
q sub -c "INSERT INTO orders VALUES (5000, 'LOCAL', 1)" -c "INSERT INTO notes (body) VALUES ('x')" >/dev/null
exact sub || fail "drift after local writes on the subscriber"
echo "logical: replicated rows show as drift in verify(); refresh() and local writes are exact"

# A replicated TRUNCATE is the one statement whose triggers the apply worker fires (they fire
# ALWAYS): the subscriber's figures of the table are emptied with it.
q pub -c "TRUNCATE orders" >/dev/null
wait_for 30 "the replicated TRUNCATE" sub "SELECT NOT EXISTS (SELECT FROM orders)"
exact sub || fail "drift after a replicated TRUNCATE"
echo "logical: a replicated TRUNCATE empties the subscriber's figures"

q sub -c "DROP SUBSCRIPTION orders_sub" >/dev/null
echo "logical: ok"
