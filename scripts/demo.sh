#!/usr/bin/env bash
# Command 1 of the README: set up everything on a fresh machine and run the demo dashboard.
#   - installs what is missing (apt packages, cargo-pgrx 0.18.1)
#   - builds pg_tally (release) and installs it into the system PostgreSQL 15, or into
#     PostgreSQL 16, 17 or 18 with PGTALLY_PG=16|17|18 (fetched once by scripts/postgres.sh)
#   - starts a local cluster (user postgres, 127.0.0.1:$PGTALLY_PORT, data in .pgdata/)
#   - loads the reference workload (PGTALLY_USERS users, PGTALLY_ORDERS orders) with progress
#   - defines the dashboard and prints tally.snapshot next to the live figures, with timings
# Safe to rerun: data already loaded at the requested size is kept.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
users="${PGTALLY_USERS:-100000}"
orders="${PGTALLY_ORDERS:-1000000}"
db="${PGTALLY_DEMO_DB:-tally_demo}"
log() { printf '[demo] %s\n' "$*"; }

bash scripts/install-deps.sh
export PGRX_HOME="${PGRX_HOME:-$HOME/.pgrx}"
unset RUST_BACKTRACE RUST_LIB_BACKTRACE

major="${PGTALLY_PG:-15}"
export PGTALLY_PG_CONFIG="$(bash scripts/postgres.sh "$major")"
log "building and installing pg_tally for PostgreSQL $major (release build, ~2 min the first time)"
cargo pgrx install --release --no-default-features --features "pg$major" \
  --pg-config "$PGTALLY_PG_CONFIG" >/dev/null

# A cluster per major: one major cannot open another's data directory.
[ "$major" = 15 ] || export PGTALLY_DATA="${PGTALLY_DATA:-$root/.pgdata$major}"
bash scripts/cluster.sh restart   # restart so the server loads the freshly installed library
port="${PGTALLY_PORT:-5499}"
psql_db() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d "$db" "$@"; }

if ! psql -X -tA -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
  psql -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "CREATE DATABASE $db"
fi
# The extension is recreated on every run (its metrics are backfilled from the kept data in
# seconds), so a rerun after updating pg_tally never meets a catalog from an older build.
psql_db -c "SET client_min_messages = warning" -c "DROP EXTENSION IF EXISTS pg_tally CASCADE" \
        -c "CREATE EXTENSION pg_tally" -f examples/demo/schema.sql

have_users=$(psql_db -tA -c "SELECT count(*) FROM users")
have_orders=$(psql_db -tA -c "SELECT count(*) FROM orders")
if [ "$have_users" != "$users" ] || [ "$have_orders" != "$orders" ]; then
  log "loading $users users and $orders orders"
  psql_db -c "TRUNCATE orders, users RESTART IDENTITY" >/dev/null
  psql_db -c "INSERT INTO users (email, is_active, created_at)
              SELECT 'user' || i || '@example.com', random() < 0.7, now() - random() * interval '730 days'
                FROM generate_series(1, $users) i"
  batch=100000
  for ((start = 0; start < orders; start += batch)); do
    n=$(( orders - start < batch ? orders - start : batch ))
    psql_db -c "INSERT INTO orders (user_id, status, amount, created_at)
                SELECT 1 + (random() * ($users - 1))::bigint,
                       (ARRAY['PENDING','PAID','SHIPPED','CANCELLED','REFUNDED'])[1 + (random() * 4)::int],
                       round((5 + random() * 495)::numeric, 2),
                       now() - random() * interval '365 days'
                  FROM generate_series(1, $n)"
    log "orders $((start + n))/$orders"
  done
  psql_db -c "VACUUM ANALYZE users, orders"
else
  log "data already loaded ($users users, $orders orders)"
fi

log "defining metrics (backfills from the existing rows) and the dashboard"
psql_db -f examples/demo/metrics.sql >/dev/null
log "a few writes, so the figures move: 1 user, 3 orders today, 1 status change"
psql_db -c "INSERT INTO users (email) VALUES ('new@example.com')" \
        -c "INSERT INTO orders (user_id, status, amount) VALUES (1, 'PAID', 42.00), (2, 'SHIPPED', 17.50), (3, 'PENDING', 9.99)" \
        -c "UPDATE orders SET status = 'REFUNDED' WHERE id = (SELECT max(id) FROM orders WHERE status = 'PAID')"
psql_db -f examples/demo/compare.sql
# The cluster commands for this major (the default one needs no settings).
cluster="bash scripts/cluster.sh"
[ "$major" = 15 ] || cluster="PGTALLY_PG_CONFIG=$PGTALLY_PG_CONFIG PGTALLY_DATA=$PGTALLY_DATA PGTALLY_PORT=$port $cluster"
log "stop the cluster with: $cluster stop   (start again: $cluster start)"
log "explore with: $cluster psql -d $db"
