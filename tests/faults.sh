#!/usr/bin/env bash
# Fault tests against real PostgreSQL 15 clusters, run by scripts/test.sh after the others:
#   1. pg_dump / pg_restore into a new database: metrics, dashboards, triggers and figures
#      work there, and new writes keep them exact;
#   2. crash: kill -9 the postmaster while writers and the compactor run, restart: exact;
#   3. hot standby: a streaming replica on loopback serves snapshot/value/groups/series with
#      the primary's figures once replayed.
# Needs the test cluster of scripts/test.sh running (PGTALLY_PORT, PGTALLY_DATA).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
port="${PGTALLY_PORT:?}"
data="${PGTALLY_DATA:?}"
# The PostgreSQL under test (scripts/test.sh: PGTALLY_PG_CONFIG; Debian's 15 by default). A
# relocatable tree's standby loads that tree's libpq (its WAL receiver).
pg_config="${PGTALLY_PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}"
bindir="$("$pg_config" --bindir)"
library_path=""
[ "$pg_config" = /usr/lib/postgresql/15/bin/pg_config ] || library_path="$("$pg_config" --libdir)"
q() { local db=$1; shift; psql -X -qtA -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d "$db" "$@"; }
fail() { echo "FAULTS FAILED: $*" >&2; exit 1; }
expect_exact() {  # db, when
  local drift
  drift=$(q "$1" -c "SET client_min_messages = warning; SELECT count(*) FROM tally.verify()")
  [ "$drift" = "0" ] || fail "$2: tally.verify() reports $drift differing groups in $1"
  echo "[faults] $2: exact"
}
fresh_db() {
  q postgres -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1"
  q "$1" -c "CREATE EXTENSION pg_tally" -f "$root/examples/demo/schema.sql"
  q "$1" -c "INSERT INTO users (email, is_active) SELECT 'u' || i, i % 3 > 0 FROM generate_series(1, 2000) i" \
         -c "INSERT INTO orders (user_id, status, amount, created_at)
             SELECT 1 + i % 2000, (ARRAY['PENDING','PAID','SHIPPED','CANCELLED','REFUNDED'])[1 + i % 5],
                    (i % 500) + 0.99, now() - (i % 30) * interval '1 day' FROM generate_series(1, 20000) i"
  q "$1" -f "$root/examples/demo/metrics.sql" >/dev/null
  # The value-tracking aggregates too: their per-value counters must survive every fault.
  q "$1" -c "SELECT tally.create_metric('buyers_daily', 'orders', 'count_distinct', 'user_id',
                                        bucket => 'day', bucket_column => 'created_at')" \
         -c "SELECT tally.create_metric('largest_by_status', 'orders', 'max', 'amount', group_by => 'status')" \
         -c "SELECT tally.create_metric('net_by_status', 'orders', 'sum', 'amount - user_id / 100', group_by => 'status')" >/dev/null
}
snapshot() { q "$1" -c "SELECT tally.snapshot('admin') - 'as_of'"; }

# --- 1. pg_dump / restore ------------------------------------------------------------------
fresh_db tally_dump_src
q tally_dump_src -c "UPDATE orders SET status = 'REFUNDED' WHERE id % 11 = 0" -c "SELECT tally.compact()" >/dev/null
q tally_dump_src -c "DELETE FROM orders WHERE id % 13 = 0"   # leave pending deltas in the dump too
# A max over a column in a collation created after initdb (0.15.0): the restored collation has
# another oid, and the reads find it through the column. ICU's numeric order ('n9' < 'n10'),
# or libc's C.utf8 in a build without ICU.
q tally_dump_src >/dev/null <<'SQL'
DO $$ BEGIN
    CREATE COLLATION nick_order (provider = icu, locale = 'und-u-kn-true');
EXCEPTION WHEN feature_not_supported THEN
    CREATE COLLATION nick_order (provider = libc, locale = 'C.utf8');
END $$;
ALTER TABLE users ADD COLUMN nick text COLLATE nick_order;
UPDATE users SET nick = 'n' || (id % 300)::text;
SELECT tally.create_metric('last_nick', 'users', 'max', 'nick');
UPDATE users SET nick = 'n' || (id % 290)::text WHERE id % 7 = 0;
-- A group column of an enum (0.16.0): its saved labels are restored by the enum's name (its
-- oids change), and a label renamed after the restore is followed.
CREATE TYPE tier AS ENUM ('free', 'pro', 'team');
ALTER TABLE users ADD COLUMN tier tier;
UPDATE users SET tier = (ARRAY['free', 'pro', 'team'])[1 + id % 3]::tier WHERE id % 5 <> 0;
SELECT tally.create_metric('users_by_tier', 'users', group_by => 'tier');
SQL
dump=$(mktemp -d)/tally.dump
"$bindir/pg_dump" -Fc -h 127.0.0.1 -p "$port" -U postgres -f "$dump" tally_dump_src
q postgres -c "DROP DATABASE IF EXISTS tally_dump_dst WITH (FORCE)" -c "CREATE DATABASE tally_dump_dst"
"$bindir/pg_restore" --exit-on-error -h 127.0.0.1 -p "$port" -U postgres -d tally_dump_dst "$dump"
[ "$(snapshot tally_dump_src)" = "$(snapshot tally_dump_dst)" ] || fail "restored snapshot differs"
[ "$(q tally_dump_dst -c "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'tally\_%'")" = "8" ] || fail "restored triggers missing"
expect_exact tally_dump_dst "restored database"
[ "$(q tally_dump_dst -c "SELECT tally.value('last_nick', NULL::text) = (SELECT max(nick) FROM users)")" = t ] \
  || fail "the max in a collation created after initdb is wrong after the restore"
[ "$(q tally_dump_dst -c "SELECT column_name FROM tally.metrics WHERE name = 'net_by_status'")" = "(amount - (user_id / 100)::numeric)" ] \
  || fail "the value expression was not restored"
TIERS_EXACT="SELECT count(*) FROM tally.groups('users_by_tier') g
               FULL JOIN (SELECT coalesce(tier::text, '(none)') AS k, count(*) AS v FROM users GROUP BY 1) l
                 ON l.k = coalesce(g.group_key, '(none)')
              WHERE g.value IS DISTINCT FROM l.v"
[ "$(q tally_dump_dst -c "ALTER TYPE tier RENAME VALUE 'pro' TO 'business'" \
       -c "UPDATE users SET tier = 'business' WHERE id % 4 = 0" -c "$TIERS_EXACT")" = 0 ] \
  || fail "a group column of an enum is wrong after the restore and a label's rename"
q tally_dump_dst -c "INSERT INTO orders (user_id, status, amount) SELECT 1, 'PAID', 5 FROM generate_series(1, 100)" \
                 -c "UPDATE orders SET status = 'SHIPPED' WHERE status = 'PAID' AND id % 7 = 0" \
                 -c "DELETE FROM orders WHERE id % 17 = 0" \
                 -c "SELECT tally.create_metric('after_restore', 'orders', 'sum', 'amount')" >/dev/null
q tally_dump_dst -c "INSERT INTO users (email) VALUES ('after@restore')" -c "SELECT id, total_users FROM admin_dashboard" >/dev/null
expect_exact tally_dump_dst "restored database after new writes and a new metric"
q postgres -c "DROP DATABASE tally_dump_src WITH (FORCE)" -c "DROP DATABASE tally_dump_dst WITH (FORCE)"
echo "[faults] pg_dump/pg_restore: OK"

# --- 2. crash: kill -9 the postmaster under load ---------------------------------------------
fresh_db tally_crash
work=$(mktemp -d)
cat > "$work/write.sql" <<'SQL'
\set uid random(1, 2000)
\set id random(1, 20000)
\set st random(1, 5)
BEGIN;
INSERT INTO orders (user_id, status, amount) VALUES (:uid, (ARRAY['PENDING','PAID','SHIPPED','CANCELLED','REFUNDED'])[:st], 9.99);
UPDATE orders SET status = (ARRAY['PENDING','PAID','SHIPPED','CANCELLED','REFUNDED'])[:st] WHERE id = :id;
DELETE FROM orders WHERE id = :id + 1;
END;
SQL
before=$(q tally_crash -c "SELECT count(*) FROM orders")
pgbench -n -c 4 -T 30 -f "$work/write.sql" -h 127.0.0.1 -p "$port" -U postgres tally_crash >"$work/pgbench.log" 2>&1 &
writers=$!
( while q tally_crash -c "SELECT tally.compact()" >/dev/null 2>&1; do sleep 0.1; done ) &
folder=$!
sleep 4
postmaster=$(head -1 "$data/postmaster.pid")
kill -9 "$postmaster"
echo "[faults] killed postmaster $postmaster with writers and the compactor running"
wait "$writers" || true
wait "$folder" || true
# Wait until the killed postmaster and its children are gone (and reaped), or the new
# server would take their lock files for a live server's.
for _ in $(seq 1 100); do
  [ -e "/proc/$postmaster" ] || pgrep -u postgres -f "postgres: .*tally_crash" >/dev/null || break
  sleep 0.2
done
bash "$root/scripts/cluster.sh" start >/dev/null
after=$(q tally_crash -c "SELECT count(*) FROM orders")
echo "[faults] orders before $before, after crash recovery $after ($(grep -c 'aborted' "$work/pgbench.log" || true) clients aborted by the crash)"
expect_exact tally_crash "after kill -9 and crash recovery"
q tally_crash -c "INSERT INTO orders (user_id, status, amount) VALUES (1, 'PAID', 1)" -c "SELECT tally.compact()" >/dev/null
expect_exact tally_crash "after crash recovery and new writes"
q postgres -c "DROP DATABASE tally_crash WITH (FORCE)"

# --- 3. hot standby ------------------------------------------------------------------------------
fresh_db tally_standby
standby="$data-standby"
sport=$((port + 10))
rm -rf "$standby" && install -d -o postgres -g postgres -m 700 "$standby"
# (the primary keeps its socket in its data directory: pg_basebackup skips it, with a warning)
runuser -u postgres -- "$bindir/pg_basebackup" -h 127.0.0.1 -p "$port" -U postgres -D "$standby" -R -X stream --checkpoint=fast 2>&1 \
  | grep -v 'skipping special file' || true
touch "$standby.log" && chown postgres "$standby.log"
# Started with RUST_BACKTRACE=1, as a shell that exports it would: no Rust backtrace may
# reach a client's error (pg_tally turns library captures off, src/error.rs).
env -u RUST_LIB_BACKTRACE RUST_BACKTRACE=1 ${library_path:+LD_LIBRARY_PATH="$library_path"} runuser -u postgres -- "$bindir/pg_ctl" -D "$standby" -l "$standby.log" -w -t 60 start \
  -o "-p $sport -c listen_addresses=127.0.0.1 -c unix_socket_directories=$standby -c hot_standby=on" >/dev/null
trap 'runuser -u postgres -- "$bindir/pg_ctl" -D "$standby" -m immediate stop >/dev/null 2>&1 || true' EXIT
qs() { psql -X -qtA -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$sport" -U postgres -d tally_standby "$@"; }
[ "$(qs -c 'SELECT pg_is_in_recovery()')" = "t" ] || fail "standby is not in recovery"
q tally_standby -c "INSERT INTO orders (user_id, status, amount) SELECT 1 + i % 100, 'PAID', 3 FROM generate_series(1, 500) i" \
                -c "UPDATE orders SET status = 'SHIPPED' WHERE id % 9 = 0" -c "DELETE FROM orders WHERE id % 10 = 0"
lsn=$(q tally_standby -c "SELECT pg_current_wal_lsn()")
for _ in $(seq 1 100); do
  [ "$(qs -c "SELECT pg_last_wal_replay_lsn() >= '$lsn'")" = "t" ] && break
  sleep 0.1
done
for read in "SELECT tally.snapshot('admin') - 'as_of'" "SELECT tally.value('total_orders')" \
            "SELECT string_agg(group_key || '=' || value, ',' ORDER BY group_key) FROM tally.groups('orders_per_status')" \
            "SELECT string_agg(bucket_start || '=' || value, ',' ORDER BY bucket_start) FROM tally.series('revenue_today', now() - interval '40 days')"; do
  primary=$(q tally_standby -c "$read")
  replica=$(qs -c "$read")
  [ -n "$primary" ] && [ "$primary" = "$replica" ] || fail "standby differs for: $read"
done
echo "[faults] hot standby: snapshot, value, groups and series equal the primary's"
# A Postgres error inside pg_tally's Rust code (the table's lock, refused during recovery)
# is where pgrx would attach the backtrace.
refused="$(qs -c "SELECT tally.create_metric('on_standby', 'orders')" 2>&1 || true)"
grep -q 'while recovery is in progress' <<<"$refused" || fail "the standby did not refuse a new metric: $refused"
if grep -qiE 'backtrace|\.rs:[0-9]+|rust_begin_unwind' <<<"$refused"; then
  fail "a Rust backtrace reached the client of a server started with RUST_BACKTRACE=1: $refused"
fi
runuser -u postgres -- "$bindir/pg_ctl" -D "$standby" -m fast -w stop >/dev/null
trap - EXIT
rm -rf "$standby" "$standby.log"
q postgres -c "DROP DATABASE tally_standby WITH (FORCE)"
echo "[faults] all fault tests passed"
