#!/usr/bin/env bash
# Upgrade test: a database created with the released 0.1.0 (sql/released/pg_tally--0.1.0.sql)
# keeps live metrics exact through `ALTER EXTENSION pg_tally UPDATE`, including the window in
# which the new library already runs against the old catalog, and ends with exactly the
# catalog a fresh install of this build creates (0.1.0 -> 0.2.0 -> 0.3.0 ...: Postgres chains
# the scripts). Needs the test cluster running (PGTALLY_PORT) and
# the current build installed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
port="${PGTALLY_PORT:?}"
PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
RELEASE_COMMIT=616a955797ae9440f4679fa8b55c844ad1cb223e  # v0.1.0
CURRENT="$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)"
q() { psql -X -qtA -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres "$@"; }
fail() { echo "upgrade: FAILED: $*" >&2; exit 1; }
# q without the NOTICEs (verify's progress lines).
quiet_q() { PGOPTIONS="-c client_min_messages=warning" q "$@"; }

# The released 0.1.0, library included, built from its tag: the databases it creates are
# what users have. (Needs the repository's history; a shallow clone cannot run this test.)
install_release() {
  local src="$root/target/release-v0.1.0" rev
  # The tag, else the release commit itself; a shallow clone first fetches its history.
  for attempt in 1 2; do
    for rev in v0.1.0 "$RELEASE_COMMIT"; do
      git -C "$root" rev-parse -q --verify "$rev^{commit}" >/dev/null && break 2
    done
    [ "$attempt" = 1 ] && git -C "$root" fetch -q --tags --unshallow origin 2>/dev/null || true
    rev=""
  done
  [ -n "$rev" ] || fail "neither tag v0.1.0 nor commit $RELEASE_COMMIT is in this clone: clone with history"
  rm -rf "$src" && mkdir -p "$src"
  git -C "$root" archive "$rev" | tar -x -C "$src"
  cmp -s "$src/src/lib.rs" "$root/src/lib.rs" && fail "v0.1.0 sources look like the working tree"
  (cd "$src" && CARGO_TARGET_DIR="$root/target/release-v0.1.0-build" \
     cargo pgrx install --pg-config "$PG_CONFIG" >"$root/target/release-v0.1.0.log" 2>&1) \
    || { tail -30 "$root/target/release-v0.1.0.log"; fail "could not build v0.1.0"; }
  cmp -s "$root/sql/released/pg_tally--0.1.0.sql" "$($PG_CONFIG --sharedir)/extension/pg_tally--0.1.0.sql" \
    || fail "sql/released/pg_tally--0.1.0.sql differs from what v0.1.0 generates"
}
install_current() { (cd "$root" && cargo pgrx install --pg-config "$PG_CONFIG" >/dev/null 2>&1); }
restart() { PGTALLY_PORT="$port" bash "$root/scripts/cluster.sh" restart >/dev/null; }
# An empty database tally_previous, for one previous release's catalog under this library.
fresh_previous_db() {
  q -d postgres -c "DROP DATABASE IF EXISTS tally_previous WITH (FORCE)" -c "CREATE DATABASE tally_previous"
}

echo "upgrade: installing the released 0.1.0 (library and script)"
install_release
restart

for db in tally_upgrade tally_fresh; do
  q -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
done

# Every figure of the dashboard equals the live aggregate: prints t or f.
EXACT="SELECT s->'orders' = to_jsonb((SELECT count(*) FROM orders))
          AND s->'revenue_today' = to_jsonb((SELECT coalesce(sum(amount), 0) FROM orders
                                  WHERE date_trunc('day', created_at, 'UTC') = date_trunc('day', now(), 'UTC')))
          AND s->'avg_amount' = coalesce(to_jsonb((SELECT avg(amount) FROM orders)), 'null')
          AND s->'by_status' = coalesce((SELECT jsonb_object_agg(coalesce(status, 'null'), n)
                                 FROM (SELECT status, count(*) AS n FROM orders GROUP BY status) g), '{}')
         FROM tally.snapshot('board') s"

echo "upgrade: 0.1.0 with live metrics"
q -d tally_upgrade >/dev/null <<'SQL'
CREATE EXTENSION pg_tally VERSION '0.1.0';
CREATE TABLE orders (id serial PRIMARY KEY, customer int, status text, amount numeric(12,2),
                     created_at timestamptz NOT NULL DEFAULT now());
INSERT INTO orders (customer, status, amount, created_at)
SELECT i % 300, (ARRAY['PAID', 'PENDING', NULL])[1 + i % 3], (i % 500) / 4.0, now() - (i % 5) * interval '1 day'
  FROM generate_series(1, 5000) i;
SET client_min_messages = warning;
SELECT tally.create_metric('orders', 'orders');
SELECT tally.create_metric('by_status', 'orders', group_by => 'status');
SELECT tally.create_metric('revenue_today', 'orders', 'sum', 'amount', bucket => 'day', bucket_column => 'created_at');
SELECT tally.create_metric('avg_amount', 'orders', 'avg', 'amount');
SELECT tally.create_dashboard('board', ARRAY['orders', 'by_status', 'revenue_today', 'avg_amount'], 'board_view');
SQL
[ "$(q -d tally_upgrade -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_tally'")" = 0.1.0 ] || fail "not at 0.1.0"

echo "upgrade: installing this build ($CURRENT) over it"
install_current
restart
echo "upgrade: new library, old catalog: writes keep counting, reads ask for the update"
q -d tally_upgrade <<'SQL'
INSERT INTO orders (customer, status, amount) SELECT i, 'PAID', i FROM generate_series(1, 200) i;
UPDATE orders SET status = 'PENDING' WHERE id % 7 = 0;
DELETE FROM orders WHERE id % 11 = 0;
COPY orders (customer, status, amount) FROM stdin;
5	PAID	12.50
6	\N	\N
\.
SQL
[ "$(q -d tally_upgrade -c "$EXACT")" = t ] || fail "snapshot drifted before the update"
[ "$(q -d tally_upgrade -c "SELECT count(*) > 0 FROM tally._delta")" = t ] || fail "writes left no pending deltas"
err="$(q -d tally_upgrade -c "SELECT tally.value('orders')" 2>&1 || true)"
case "$err" in *"older than the installed library"*) ;; *) fail "value() on the old catalog said: $err" ;; esac
sqlstate="$(q -d tally_upgrade -c '\set VERBOSITY sqlstate' -c "SELECT tally.value('orders')" 2>&1 || true)"
case "$sqlstate" in *55000*) ;; *) fail "expected SQLSTATE 55000, got: $sqlstate" ;; esac

echo "upgrade: ALTER EXTENSION pg_tally UPDATE TO '0.3.0' (this library, a 0.3.0 catalog)"
q -d tally_upgrade -c "ALTER EXTENSION pg_tally UPDATE TO '0.3.0'"
q -d tally_upgrade >/dev/null <<'SQL'
INSERT INTO orders (customer, status, amount) VALUES (7, 'PAID', 3.25);
INSERT INTO orders (customer, status, amount) SELECT i, 'PENDING', i FROM generate_series(1, 20) i;
UPDATE orders SET status = 'PAID' WHERE id = 5;
SQL
[ "$(q -d tally_upgrade -c "$EXACT")" = t ] || fail "snapshot drifted on the 0.3.0 catalog"
[ "$(q -d tally_upgrade -c "SELECT tally._snapshot_counters('board') IS NULL")" = t ] \
  || fail "the 0.3.0 catalog (no fold horizon) must be read by the query"
sqlstate="$(q -d tally_upgrade -c '\set VERBOSITY sqlstate' -c "SELECT tally.value('orders')" 2>&1 || true)"
case "$sqlstate" in *55000*) ;; *) fail "value() on the 0.3.0 catalog: expected SQLSTATE 55000, got: $sqlstate" ;; esac

echo "upgrade: ALTER EXTENSION pg_tally UPDATE TO '0.5.0', then UPDATE with writers around it"
q -d tally_upgrade -c "ALTER EXTENSION pg_tally UPDATE TO '0.5.0'"
# Under REPEATABLE READ the 0.6.0 step could miss deltas committed while it waits for its
# lock: it refuses, and the whole update rolls back.
err="$(q -d tally_upgrade -c "BEGIN ISOLATION LEVEL REPEATABLE READ" -c "ALTER EXTENSION pg_tally UPDATE" 2>&1 || true)"
case "$err" in *"must be installed at READ COMMITTED"*) ;; *) fail "update under REPEATABLE READ said: $err" ;; esac
[ "$(q -d tally_upgrade -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_tally'")" = "0.5.0" ] \
  || fail "a refused update left the catalog changed"
pending="$(q -d tally_upgrade -c "SELECT count(*) FROM tally._delta")"
[ "$pending" -gt 0 ] || fail "no pending deltas to carry across the update"
# The 0.6.0 step moves pending deltas into tally._change under a lock on the old table.
# Writer A is in flight when it starts: the update waits for A, and A's deltas are carried
# over. Writer B starts while the update waits: B waits too, then fails (its table is
# gone) rather than write deltas nobody reads.
waiting() { q -d tally_upgrade -c "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '$1%'"; }
until_waiting() { for _ in $(seq 100); do [ "$(waiting "$1")" -ge 1 ] && return 0; sleep 0.1; done; fail "nobody waits on '$1'"; }
out="$(mktemp -d)"
q -d tally_upgrade -c "BEGIN" -c "INSERT INTO orders (customer, status, amount) VALUES (900001, 'PAID', 4.75)" \
  -c "SELECT pg_sleep(2)" -c "COMMIT" >"$out/a" 2>&1 &
writer_a=$!
sleep 0.5
# To 0.9.0 here: the 0.10.0 step locks tally._metric, which writer B holds while it waits
# for the 0.6.0 step's lock, so in the same transaction the two would deadlock (docs/sql-api.md,
# "Upgrading": from 0.8.0 or older under writes, update in two steps). 0.10.0 comes after.
q -d tally_upgrade -c "ALTER EXTENSION pg_tally UPDATE TO '0.9.0'" >"$out/update" 2>&1 &
update=$!
until_waiting "ALTER EXTENSION"
q -d tally_upgrade -c "INSERT INTO orders (customer, status, amount) VALUES (900002, 'PAID', 1.00)" >"$out/b" 2>&1 &
writer_b=$!
until_waiting "INSERT INTO orders"
wait "$writer_a" || fail "writer A failed: $(cat "$out/a")"
wait "$update" || fail "the update failed: $(cat "$out/update")"
busy_warnings=$(grep -c "still skips sessions with session_replication_role = replica" "$out/update" || true)
if wait "$writer_b"; then fail "writer B, queued behind the update, succeeded: $(cat "$out/b")"; fi
grep -q ERROR "$out/b" || fail "writer B did not fail with an error: $(cat "$out/b")"
echo "upgrade:   writer queued behind the update: $(grep ERROR "$out/b")"
rm -rf "$out"
[ "$(q -d tally_upgrade -c "SELECT count(*) FROM orders WHERE customer IN (900001, 900002)")" = 1 ] \
  || fail "writer A's row should be there and writer B's not"
# 0.6.0 packs pending changes one row per statement: every one must have been carried over,
# writer A's too.
[ "$(q -d tally_upgrade -c "SELECT count(*) FROM tally._delta")" -gt "$pending" ] \
  || fail "the update did not carry all pending deltas (and writer A's) into tally._change"
[ "$(q -d tally_upgrade -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_tally'")" = 0.9.0 ] || fail "not at 0.9.0"
# A value expression needs the 0.11.0 catalog: asked for, not half-created.
early="$(q -d tally_upgrade -c "SELECT tally.create_metric('too_early', 'orders', 'sum', 'amount * 2')" 2>&1 || true)"
grep -q "older than the installed library" <<<"$early" || fail "a value expression on a 0.9.0 catalog did not ask for the update"
early="$(q -d tally_upgrade -c "SELECT tally.create_metric('too_early', 'orders', bucket => '15 minutes', bucket_column => 'created_at')" 2>&1 || true)"
grep -q "older than the installed library" <<<"$early" || fail "a 15-minute bucket on a 0.9.0 catalog did not ask for the update"
early="$(q -d tally_upgrade -c "SELECT tally.create_metric('too_early', 'orders', 'max', 'created_at')" 2>&1 || true)"
grep -q "older than the installed library" <<<"$early" || fail "a max over timestamptz on a 0.9.0 catalog did not ask for the update"
q -d tally_upgrade -c "CREATE TYPE urgency AS ENUM ('low', 'high')" -c "CREATE TABLE tickets (id int, urgency urgency)" \
  -c "INSERT INTO tickets VALUES (1, 'low'), (2, 'high')" >/dev/null
early="$(q -d tally_upgrade -c "SELECT tally.create_metric('too_early', 'tickets', 'max', 'urgency')" 2>&1 || true)"
grep -q "older than the installed library" <<<"$early" || fail "a max over an enum on a 0.9.0 catalog did not ask for the update"
[ "$(q -d tally_upgrade -c "SELECT count(*) FROM tally._metric WHERE name = 'too_early'")" = 0 ] || fail "half-created metric"
[ "$(q -d tally_upgrade -c "$EXACT")" = t ] || fail "snapshot drifted across the update"
[ "$(q -d tally_upgrade -c "SELECT tally._snapshot_counters('board') IS NOT NULL")" = t ] \
  || fail "the updated snapshot does not read through the index lookups"
[ "$(q -d tally_upgrade -c "SELECT count(*) FROM tally.verify()" 2>/dev/null)" = 0 ] || fail "verify found drift after the update"
# 0.7.0: the triggers the update found fire whatever session_replication_role is; those of a
# table a writer held during the update (writer B here) are named in a WARNING, and the ALTER
# TABLE its hint gives converts them all.
not_always="SELECT count(*) FILTER (WHERE tgenabled <> 'A') FROM pg_trigger WHERE tgfoid = 'tally._on_write()'::regprocedure"
left=$(q -d tally_upgrade -c "$not_always")
[ "$left" = "$busy_warnings" ] || fail "$left triggers do not fire ALWAYS after the update, $busy_warnings WARNINGs said so"
echo "upgrade:   triggers left for a busy table: $left (each named in a WARNING)"
q -d tally_upgrade -c "ALTER TABLE orders ENABLE ALWAYS TRIGGER tally_insert" >/dev/null
[ "$(q -d tally_upgrade -c "$not_always")" = 0 ] || fail "the hint's ALTER TABLE left triggers that do not fire ALWAYS"

# 0.9.0 -> 0.10.0 widens the constraint on tally._metric.bucket, first thing (0.11.0 then
# adds tally._value_expression, whose foreign key needs no lock writers hold): the update
# waits for writer C (in flight, it read tally._metric), writer D queues behind the update,
# and both commit.
echo "upgrade: ALTER EXTENSION pg_tally UPDATE (0.9.0 -> $CURRENT) with writers around it"
out="$(mktemp -d)"
q -d tally_upgrade -c "BEGIN" -c "INSERT INTO orders (customer, status, amount) VALUES (900003, 'PAID', 2.25)" \
  -c "SELECT pg_sleep(2)" -c "COMMIT" >"$out/c" 2>&1 &
writer_c=$!
sleep 0.5
q -d tally_upgrade -c "ALTER EXTENSION pg_tally UPDATE" >"$out/update" 2>&1 &
update=$!
until_waiting "ALTER EXTENSION"
q -d tally_upgrade -c "INSERT INTO orders (customer, status, amount) VALUES (900004, 'PAID', 3.50)" >"$out/d" 2>&1 &
writer_d=$!
until_waiting "INSERT INTO orders"
wait "$writer_c" || fail "writer C failed: $(cat "$out/c")"
wait "$update" || fail "the update to $CURRENT failed: $(cat "$out/update")"
wait "$writer_d" || fail "writer D, queued behind the update, failed: $(cat "$out/d")"
rm -rf "$out"
[ "$(q -d tally_upgrade -c "SELECT count(*) FROM orders WHERE customer IN (900003, 900004)")" = 2 ] \
  || fail "writer C's or D's row is missing"
[ "$(q -d tally_upgrade -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_tally'")" = "$CURRENT" ] || fail "not at $CURRENT"
[ "$(q -d tally_upgrade -c "$EXACT")" = t ] || fail "snapshot drifted across the update to $CURRENT"
[ "$(q -d tally_upgrade -c "SELECT tally.create_metric('per_quarter', 'orders', bucket => 'quarter', bucket_column => 'created_at') IS NOT NULL")" = t ] \
  || fail "the updated catalog refuses a quarter bucket"
[ "$(q -d tally_upgrade -c "SELECT tally.create_metric('per_quarter_hour', 'orders', bucket => '15 minutes', bucket_column => 'created_at') IS NOT NULL")" = t ] \
  || fail "the updated catalog refuses a 15-minute bucket"

echo "upgrade: after the update: more writes, a fold, the new aggregates"
q -d tally_upgrade >/dev/null <<'SQL'
SET client_min_messages = warning;
INSERT INTO orders (customer, status, amount) SELECT i, 'PENDING', i / 3.0 FROM generate_series(1, 300) i;
DELETE FROM orders WHERE amount = (SELECT min(amount) FROM orders);
SELECT tally.compact();
SELECT tally.create_metric('cheapest', 'orders', 'min', 'amount');
SELECT tally.create_metric('customers', 'orders', 'count_distinct', 'customer');
SELECT tally.create_metric('doubled', 'orders', 'sum', 'amount * 2 + customer');
SELECT tally.create_metric('last_order', 'orders', 'max', 'created_at');
SELECT tally.create_metric('statuses', 'orders', 'count_distinct', 'status');
SELECT tally.create_metric('top_urgency', 'tickets', 'max', 'urgency');
SELECT tally.create_metric('top_customer_bytes', 'orders', 'max', 'int4send(customer)');
SELECT tally.create_metric('top_ratio', 'orders', 'max', 'amount::float8 / nullif(customer, 0)');
SELECT tally.create_metric('amount_docs', 'orders', 'count_distinct', $$('{"a": ' || amount::text || '}')::jsonb$$);
DELETE FROM orders WHERE amount = (SELECT min(amount) FROM orders);
UPDATE orders SET customer = 100000 WHERE id = 3;
UPDATE orders SET customer = 1 WHERE id = (SELECT max(id) FROM orders);
ALTER TYPE urgency RENAME VALUE 'high' TO 'urgent';
INSERT INTO tickets VALUES (3, 'low');
SQL
[ "$(q -d tally_upgrade -c "$EXACT")" = t ] || fail "snapshot drifted after new writes"
[ "$(q -d tally_upgrade -c "SELECT tally.value('cheapest') = min(amount) AND tally.value('customers') = count(DISTINCT customer)
                                  AND tally.value('doubled') = sum(amount * 2 + customer)
                                  AND tally.value('last_order', NULL::timestamptz) IS NOT DISTINCT FROM max(created_at)
                                  AND tally.value('statuses') = count(DISTINCT status)
                                  AND tally.value('top_customer_bytes', NULL::bytea)
                                      = (SELECT int4send(o.customer) FROM orders o WHERE o.customer IS NOT NULL ORDER BY 1 DESC LIMIT 1)
                                  AND tally.value('top_ratio', NULL::float8) IS NOT DISTINCT FROM max(amount::float8 / nullif(customer, 0))
                                  AND tally.value('top_ratio', NULL::text) IS NOT DISTINCT FROM max(amount::float8 / nullif(customer, 0))::text
                                  AND tally.value('amount_docs') = count(DISTINCT ('{\"a\": ' || amount::text || '}')::jsonb)
                             FROM orders")" = t ] \
  || fail "new aggregates wrong on an upgraded database"
[ "$(q -d tally_upgrade -c "SELECT tally.value('top_urgency', NULL::urgency) = max(urgency) AND max(urgency) = 'urgent' FROM tickets")" = t ] \
  || fail "an enum's max on an upgraded database is wrong after a label's rename"
[ "$(q -d tally_upgrade -c "SELECT count(*) FROM tally.verify()" 2>/dev/null)" = 0 ] || fail "verify found drift"
[ "$(q -d tally_upgrade -c "SELECT count(*) FROM board_view")" = 1 ] || fail "typed view lost"

echo "upgrade: the upgraded catalog equals a fresh $CURRENT install"
q -d tally_fresh -c "CREATE EXTENSION pg_tally"
# Everything the extension owns, described by name (oids differ between databases).
DESCRIBE="
SELECT 'column ' || c.relname || '.' || a.attname || ' ' || a.attnum || ' ' || format_type(a.atttypid, a.atttypmod)
       || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
 WHERE c.relnamespace = 'tally'::regnamespace
UNION ALL
SELECT 'relation ' || relname || ' ' || relkind::text || ' replica identity ' || relreplident::text
       || ' acl ' || coalesce(relacl::text, '-')
  FROM pg_class WHERE relnamespace = 'tally'::regnamespace
UNION ALL
SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
  FROM pg_constraint WHERE connamespace = 'tally'::regnamespace
UNION ALL
SELECT 'index ' || pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid::regclass::text LIKE 'tally.%'
UNION ALL
SELECT 'view ' || oid::regclass || ' ' || pg_get_viewdef(oid) FROM pg_class WHERE relnamespace = 'tally'::regnamespace AND relkind = 'v'
UNION ALL
SELECT 'function ' || p.oid::regprocedure || ' acl ' || coalesce(p.proacl::text, '-') || E'\n' || pg_get_functiondef(p.oid)
  FROM pg_proc p WHERE p.pronamespace = 'tally'::regnamespace
UNION ALL
SELECT 'comment function ' || objoid::regprocedure || ' ' || description
  FROM pg_description WHERE classoid = 'pg_proc'::regclass AND objoid IN (SELECT oid FROM pg_proc WHERE pronamespace = 'tally'::regnamespace)
UNION ALL
SELECT 'comment relation ' || objoid::regclass || ' ' || description
  FROM pg_description WHERE classoid = 'pg_class'::regclass AND objoid IN (SELECT oid FROM pg_class WHERE relnamespace = 'tally'::regnamespace)
UNION ALL
SELECT 'event trigger ' || evtname || ' ' || evtevent || ' ' || evtfoid::regproc || ' ' || coalesce(evttags::text, '-') || ' ' || evtenabled::text
  FROM pg_event_trigger
UNION ALL
SELECT 'dumped ' || unnest(extconfig)::regclass FROM pg_extension WHERE extname = 'pg_tally'
ORDER BY 1"
q -d tally_upgrade -c "$DESCRIBE" > "$root/target/upgrade-upgraded.txt"
q -d tally_fresh -c "$DESCRIBE" > "$root/target/upgrade-fresh.txt"
if ! diff -u "$root/target/upgrade-fresh.txt" "$root/target/upgrade-upgraded.txt"; then
  fail "the upgraded catalog differs from a fresh install (diff above: - fresh, + upgraded)"
fi

# The previous release's catalog under this library, until its update: grouped min, max and
# count_distinct read with changes pending, then the same after the update. 0.15.0 changed
# how the text readers find a column's collation: a collation created after initdb waits
# for the update, then its metric reads exact though the collation was renamed meanwhile.
PREVIOUS=0.14.0
echo "upgrade: a $PREVIOUS catalog under this library, grouped reads with changes pending, then its update"
fresh_previous_db
q -d tally_previous >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION pg_tally VERSION '$PREVIOUS';
SET tally.auto_compact = off;
CREATE COLLATION parcel_order (provider = icu, locale = 'und-u-kn-true');
CREATE TABLE parcels (id int PRIMARY KEY, depot int, weight int, sent date DEFAULT '2026-03-01',
                      label text COLLATE parcel_order);
INSERT INTO parcels (id, depot, weight, label) SELECT i, i % 40, i % 97, 'p' || (i % 211)::text FROM generate_series(1, 1000) i;
SELECT tally.create_metric('heaviest', 'parcels', 'max', 'weight', group_by => 'depot');
SELECT tally.create_metric('weights', 'parcels', 'count_distinct', 'weight', group_by => 'depot');
SELECT tally.create_metric('daily_lightest', 'parcels', 'min', 'weight', group_by => 'depot',
                           bucket => 'day', bucket_column => 'sent', time_zone => 'UTC');
SELECT tally.create_dashboard('parcels_board', ARRAY['heaviest', 'weights']);
UPDATE parcels SET weight = weight + 100 WHERE id % 3 = 0;
DELETE FROM parcels WHERE weight % 7 = 0;
SQL
PREVIOUS_EXACT="SELECT (SELECT count(*) FROM tally.groups('heaviest') g
                          FULL JOIN (SELECT depot::text AS k, max(weight) AS v FROM parcels GROUP BY 1) l ON l.k = g.group_key
                         WHERE g.value IS DISTINCT FROM l.v)
                     + (SELECT count(*) FROM tally.groups('weights') g
                          FULL JOIN (SELECT depot::text AS k, count(DISTINCT weight) AS v FROM parcels GROUP BY 1) l ON l.k = g.group_key
                         WHERE g.value IS DISTINCT FROM l.v)
                     + (SELECT count(*) FROM tally.series('daily_lightest', '2026-03-01', '2026-03-02') g
                          FULL JOIN (SELECT depot::text AS k, min(weight) AS v FROM parcels GROUP BY 1) l ON l.k = g.group_key
                         WHERE g.value IS DISTINCT FROM l.v)
                     + (SELECT count(*) FROM tally.verify())
                     + (SELECT CASE WHEN s->'heaviest' = (SELECT jsonb_object_agg(depot, v) FROM (SELECT depot, max(weight) AS v FROM parcels GROUP BY 1) l)
                                     AND s->'weights' = (SELECT jsonb_object_agg(depot, v) FROM (SELECT depot, count(DISTINCT weight) AS v FROM parcels GROUP BY 1) l)
                                    THEN 0 ELSE 1 END FROM tally.snapshot('parcels_board') s)"
[ "$(q -d tally_previous -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_tally'")" = "$PREVIOUS" ] \
  || fail "the $PREVIOUS catalog was not created"
[ "$(quiet_q -d tally_previous -c "$PREVIOUS_EXACT")" = 0 ] || fail "grouped reads on a $PREVIOUS catalog are wrong"
early="$(q -d tally_previous -c "SELECT tally.create_metric('last_label', 'parcels', 'max', 'label')" 2>&1 || true)"
grep -q "older than the installed library" <<<"$early" \
  || fail "a max in a collation created after initdb on a $PREVIOUS catalog did not ask for the update: $early"
# One session reads, updates and reads again: it finds the new readers without reconnecting.
[ "$(quiet_q -d tally_previous -c "$PREVIOUS_EXACT" -c "ALTER EXTENSION pg_tally UPDATE" \
       -c "UPDATE parcels SET weight = weight + 1 WHERE id % 5 = 0" -c "$PREVIOUS_EXACT" | tr '\n' ' ')" = "0 0 " ] \
  || fail "grouped reads are wrong across the update from $PREVIOUS"
[ "$(quiet_q -d tally_previous -c "$PREVIOUS_EXACT")" = 0 ] || fail "grouped reads are wrong after the update from $PREVIOUS"
LABEL_EXACT="SELECT tally.value('last_label', NULL::text) = (SELECT max(label) FROM parcels)
                AND NOT EXISTS (SELECT 1 FROM tally.verify('last_label'))"
[ "$(quiet_q -d tally_previous -c "SELECT tally.create_metric('last_label', 'parcels', 'max', 'label') IS NOT NULL" \
       -c "ALTER COLLATION parcel_order RENAME TO parcel_order_was" \
       -c "CREATE COLLATION parcel_order (provider = libc, locale = 'C')" \
       -c "UPDATE parcels SET label = 'p' || (id % 97)::text WHERE id % 4 = 0" \
       -c "$LABEL_EXACT" | tr '\n' ' ')" = "t t " ] \
  || fail "a max in a renamed collation created after initdb is wrong after the update from $PREVIOUS"
# 0.16.0 added group columns of enums, dates and timestamps: on a 0.15.0 catalog such a
# definition asks for the update; after it, an enum's label renamed is followed.
PREVIOUS=0.15.0
echo "upgrade: a $PREVIOUS catalog under this library, then group columns of an enum and a date after its update"
fresh_previous_db
q -d tally_previous >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION pg_tally VERSION '$PREVIOUS';
CREATE TYPE crate_state AS ENUM ('packed', 'sent', 'lost');
CREATE TABLE crates (id int PRIMARY KEY, state crate_state, due date, weight int);
INSERT INTO crates SELECT i, (ARRAY['packed', 'sent', 'lost'])[1 + i % 3]::crate_state,
                          date '2026-03-01' + i % 5, i % 97 FROM generate_series(1, 600) i;
CREATE TABLE readings (id int PRIMARY KEY, n numeric, x float8);
INSERT INTO readings SELECT i, round(i % 4, i % 3), CASE WHEN i % 2 = 0 THEN 0.0 ELSE '-0' END
  FROM generate_series(1, 300) i;
SELECT tally.create_metric('readings_by_n', 'readings', group_by => 'n');
SELECT tally.create_metric('readings_by_x', 'readings', 'sum', 'id', group_by => 'x');
CREATE TABLE gauges (id int PRIMARY KEY, n numeric);
SELECT tally.create_metric('gauges_by_n', 'gauges', group_by => 'n');
SQL
early="$(q -d tally_previous -c "SELECT tally.create_metric('crates_by_state', 'crates', 'sum', 'weight', group_by => 'state')" 2>&1 || true)"
grep -q "older than the installed library" <<<"$early" \
  || fail "a group column of an enum on a $PREVIOUS catalog did not ask for the update: $early"
CRATES_EXACT="SELECT (SELECT count(*) FROM tally.groups('crates_by_state') g
                        FULL JOIN (SELECT state::text AS k, sum(weight) AS v FROM crates GROUP BY 1) l ON l.k = g.group_key
                       WHERE g.value IS DISTINCT FROM l.v)
                   + (SELECT count(*) FROM tally.groups('crates_by_due') g
                        FULL JOIN (SELECT to_char(due, 'YYYY-MM-DD') AS k, count(*) AS v FROM crates GROUP BY 1) l ON l.k = g.group_key
                       WHERE g.value IS DISTINCT FROM l.v)
                   + (SELECT count(*) FROM tally.verify())"
# 0.15.0 keyed these by their text casts: 1.0 and 1.00 (-0 and 0) in two groups each. The
# update recomputes them to GROUP BY's groups.
READINGS_EXACT="SELECT (SELECT array_agg(value ORDER BY value) FROM tally.groups('readings_by_n'))
                     = (SELECT array_agg(c ORDER BY c) FROM (SELECT count(*)::numeric AS c FROM readings GROUP BY n) g)
                   AND (SELECT array_agg(value ORDER BY value) FROM tally.groups('readings_by_x'))
                     = (SELECT array_agg(c ORDER BY c) FROM (SELECT sum(id)::numeric AS c FROM readings GROUP BY x) g)
                   AND NOT EXISTS (SELECT 1 FROM tally.metrics WHERE broken IS NOT NULL)"
[ "$(quiet_q -d tally_previous -c "$READINGS_EXACT")" = f ] \
  || fail "the $PREVIOUS catalog did not key 1.0 and 1.00 apart: this step tests nothing"
# A table whose owner took its own rights away cannot be recomputed: the update fails, names
# the metric, and changes nothing; once the metric is dropped it runs.
failed="$(q -d tally_previous >/dev/null 2>&1 <<'SQL' || true
DROP ROLE IF EXISTS tally_upgrade_owner;
CREATE ROLE tally_upgrade_owner;
GRANT CREATE ON SCHEMA public TO tally_upgrade_owner;
SET ROLE tally_upgrade_owner;
CREATE TABLE locked_out (id int, n numeric);
SELECT tally.create_metric('locked_out_by_n', 'locked_out', group_by => 'n');
REVOKE ALL ON locked_out FROM tally_upgrade_owner;
SQL
q -d tally_previous -c "ALTER EXTENSION pg_tally UPDATE" 2>&1 || true)"
grep -q "the metrics of table public.locked_out cannot be recomputed" <<<"$failed" && grep -q "locked_out_by_n" <<<"$failed" \
  || fail "an update that cannot recompute a metric did not name it: $failed"
[ "$(q -d tally_previous -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_tally'")" = "$PREVIOUS" ] \
  || fail "a failed update changed the extension's version"
q -d tally_previous -c "SELECT tally.drop_metric('locked_out_by_n')" -c "DROP TABLE locked_out" \
  -c "REVOKE CREATE ON SCHEMA public FROM tally_upgrade_owner" -c "DROP ROLE tally_upgrade_owner" >/dev/null
# One session writes (its plans cached), runs the update and rolls it back (it must go on
# writing the 0.15.0 keys, with cached plans and new ones: the update, and a write after it in
# its transaction, ran library code that saw the 0.16.0 catalog), writes, updates, writes again.
[ "$(quiet_q -d tally_previous -c "INSERT INTO readings VALUES (1001, 2.000, '-0')" \
       -c "BEGIN" -c "ALTER EXTENSION pg_tally UPDATE" -c "INSERT INTO readings VALUES (1005, 4.0, '0')" -c "ROLLBACK" \
       -c "INSERT INTO readings VALUES (1002, 2.00, '-0')" -c "INSERT INTO gauges VALUES (1, 1.5)" \
       -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_tally'" \
       -c "ALTER EXTENSION pg_tally UPDATE" -c "$READINGS_EXACT" \
       -c "INSERT INTO readings VALUES (1003, 2.0, '0'), (1004, 3.10, '-0')" -c "$READINGS_EXACT" \
       | tr '\n' ' ')" = "$PREVIOUS t t " ] \
  || fail "groups of a numeric and a float are not GROUP BY's across the update from $PREVIOUS"
[ "$(quiet_q -d tally_previous \
       -c "SELECT tally.create_metric('crates_by_state', 'crates', 'sum', 'weight', group_by => 'state') IS NOT NULL" \
       -c "SELECT tally.create_metric('crates_by_due', 'crates', 'count', group_by => 'due') IS NOT NULL" \
       -c "ALTER TYPE crate_state RENAME VALUE 'lost' TO 'missing'" \
       -c "UPDATE crates SET state = 'missing', due = due + 1 WHERE id % 7 = 0" \
       -c "$CRATES_EXACT" | tr '\n' ' ')" = "t t 0 " ] \
  || fail "group columns of an enum and a date are wrong after the update from $PREVIOUS"
# 0.17.0 added min and max over timetz and ranges: on a 0.16.0 catalog such a definition asks
# for the update. A count_distinct over timetz (0.16.0) keeps its key across it: its counters
# from before and its writes after add up.
PREVIOUS=0.16.0
echo "upgrade: a $PREVIOUS catalog under this library, a count_distinct over timetz across its update, then min and max over timetz and ranges"
fresh_previous_db
q -d tally_previous >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION pg_tally VERSION '$PREVIOUS';
CREATE TABLE shifts (id int PRIMARY KEY, starts timetz, span tstzrange);
INSERT INTO shifts SELECT i, (make_time(i % 24, i % 60, 0)::text || '+0' || (i % 3))::timetz,
                          tstzrange(timestamptz '2026-01-01 00:00+00' + i * interval '1 hour',
                                    timestamptz '2026-01-01 00:00+00' + i * interval '90 minutes')
  FROM generate_series(1, 300) i;
SELECT tally.create_metric('distinct_starts', 'shifts', 'count_distinct', 'starts');
SQL
early="$(q -d tally_previous -c "SELECT tally.create_metric('latest_start', 'shifts', 'max', 'starts')" 2>&1 || true)"
grep -q "older than the installed library" <<<"$early" \
  || fail "a max over timetz on a $PREVIOUS catalog did not ask for the update: $early"
# An update rolled back to a savepoint, after a definition in it used the new catalog: the
# session goes on with the old one (0.17.0; before, it believed the update and a new
# metric's trigger called an encoder the old catalog lacks).
rolled="$(q -d tally_previous -c "BEGIN" -c "SAVEPOINT before_update" -c "ALTER EXTENSION pg_tally UPDATE" \
            -c "SELECT tally.create_metric('latest_start', 'shifts', 'max', 'starts') IS NOT NULL" \
            -c "INSERT INTO shifts VALUES (2001, '09:00+02', NULL)" -c "ROLLBACK TO before_update" \
            -c "SELECT tally.create_metric('latest_start', 'shifts', 'max', 'starts')" 2>&1 || true)"
grep -q "^t$" <<<"$rolled" \
  || fail "a definition after the update inside a savepoint did not see the new catalog: this step tests nothing: $rolled"
grep -q "older than the installed library" <<<"$rolled" \
  || fail "a session whose update rolled back to a savepoint did not ask for the update: $rolled"
SHIFTS_EXACT="SELECT tally.value('distinct_starts') = (SELECT count(DISTINCT starts) FROM shifts)
                 AND NOT EXISTS (SELECT 1 FROM tally.verify())"
ORDERED_EXACT="SELECT tally.value('latest_start', NULL::timetz) = (SELECT max(starts) FROM shifts)
                  AND tally.value('first_span', NULL::tstzrange)
                      = (SELECT span FROM shifts WHERE span IS NOT NULL ORDER BY span LIMIT 1)"
[ "$(quiet_q -d tally_previous -c "INSERT INTO shifts VALUES (1001, '12:00+01', NULL), (1002, '11:00+00', NULL)" \
       -c "$SHIFTS_EXACT" -c "ALTER EXTENSION pg_tally UPDATE" \
       -c "INSERT INTO shifts VALUES (1003, '12:00+01', NULL), (1004, '23:59-15', 'empty')" -c "$SHIFTS_EXACT" \
       -c "SELECT tally.create_metric('latest_start', 'shifts', 'max', 'starts') IS NOT NULL" \
       -c "SELECT tally.create_metric('first_span', 'shifts', 'min', 'span') IS NOT NULL" \
       -c "$ORDERED_EXACT" -c "DELETE FROM shifts WHERE id = 1004" -c "$ORDERED_EXACT" -c "$SHIFTS_EXACT" \
       | tr '\n' ' ')" = "t t t t t t t " ] \
  || fail "a count_distinct over timetz, or min and max over timetz and ranges, are wrong across the update from $PREVIOUS"
# A session that saw this version, then dropped the extension and created it at the previous
# one: it asks for the update again (0.17.0, found by a hostile probe: it went on with the
# versions it had seen, and its definitions failed with 42883).
recreated="$(q -d tally_previous -c "SELECT tally.value('distinct_starts') IS NOT NULL" \
               -c "DROP EXTENSION pg_tally CASCADE" -c "CREATE EXTENSION pg_tally VERSION '$PREVIOUS'" \
               -c "SELECT tally.create_metric('latest_start', 'shifts', 'max', 'starts')" 2>&1 || true)"
grep -q "older than the installed library" <<<"$recreated" \
  || fail "a session that saw the extension dropped and created at $PREVIOUS did not ask for the update: $recreated"
# 0.18.0 added sum over money with no catalog change: a 0.17.0 catalog under this library
# takes it, and it stays exact across the update. A max over an array needs the update.
PREVIOUS=0.17.0
echo "upgrade: a $PREVIOUS catalog under this library, a sum over money across its update, then a max over an array"
fresh_previous_db
q -d tally_previous >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION pg_tally VERSION '$PREVIOUS';
CREATE TABLE tills (id int PRIMARY KEY, kind text, price money);
INSERT INTO tills SELECT i, (ARRAY['a', 'b'])[1 + i % 2], (i::numeric / 8)::money FROM generate_series(1, 300) i;
SELECT tally.create_metric('takings_by_kind', 'tills', 'sum', 'price', group_by => 'kind');
SQL
TILLS_EXACT="SELECT NOT EXISTS (SELECT 1 FROM tally.groups('takings_by_kind', NULL::money) g
                                 FULL JOIN (SELECT kind, sum(price) AS v FROM tills GROUP BY kind) l
                                        ON l.kind = g.group_key
                                WHERE g.value IS DISTINCT FROM l.v)
               AND NOT EXISTS (SELECT 1 FROM tally.verify())"
early="$(q -d tally_previous -c "SELECT tally.create_metric('top_codes', 'tills', 'max', 'ARRAY[id % 7, id]')" 2>&1 || true)"
grep -q "older than the installed library" <<<"$early" \
  || fail "a max over an array on a $PREVIOUS catalog did not ask for the update: $early"
[ "$(quiet_q -d tally_previous -c "INSERT INTO tills VALUES (1001, 'c', '-2.50')" -c "$TILLS_EXACT" \
       -c "ALTER EXTENSION pg_tally UPDATE" -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_tally'" \
       -c "UPDATE tills SET price = price * 3 WHERE id % 5 = 0" -c "DELETE FROM tills WHERE id % 7 = 0" \
       -c "$TILLS_EXACT" \
       -c "SELECT tally.create_metric('top_codes', 'tills', 'max', 'ARRAY[id % 7, id]') IS NOT NULL" \
       -c "DELETE FROM tills WHERE id = (SELECT max(id) FROM tills WHERE id % 7 = 6)" \
       -c "SELECT tally.value('top_codes', NULL::int[]) = (SELECT max(ARRAY[id % 7, id]) FROM tills)" \
       | tr '\n' ' ')" = "t $CURRENT t t t " ] \
  || fail "a sum over money or a max over an array is wrong on a $PREVIOUS catalog or across its update"
# The updated ALTER TABLE hook refuses attaching a table with metrics as a partition.
attached="$(q -d tally_previous -c "CREATE TABLE till_tree (id int, kind text, price money) PARTITION BY LIST (kind)" \
              -c "ALTER TABLE till_tree ATTACH PARTITION tills FOR VALUES IN ('a', 'b', 'c')" 2>&1 || true)"
grep -q "cannot attach a table pg_tally counts as a partition" <<<"$attached" \
  || fail "after the update from $PREVIOUS, a table with metrics was attached as a partition: $attached"
# 0.19.0 added min and max over multiranges and arrays of network addresses: on a 0.18.0
# catalog such a definition asks for the update. A count_distinct over a multirange (0.18.0)
# stays exact across it. The names tally._value_type takes are then the library's.
PREVIOUS=0.18.0
echo "upgrade: a $PREVIOUS catalog under this library, a count_distinct over a multirange across its update, then min and max over multiranges and inet arrays"
fresh_previous_db
q -d tally_previous >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION pg_tally VERSION '$PREVIOUS';
CREATE TABLE rotas (id int PRIMARY KEY, busy int4multirange, hosts inet[]);
INSERT INTO rotas SELECT i, int4multirange(int4range(i % 5, i % 5 + 2), int4range(i % 7 + 8, 20)),
                         ARRAY[('10.0.' || i % 9 || '.' || i % 11)::inet]
  FROM generate_series(1, 300) i;
SELECT tally.create_metric('busy_kinds', 'rotas', 'count_distinct', 'busy');
SQL
ROTAS_EXACT="SELECT tally.value('busy_kinds') = (SELECT count(DISTINCT busy) FROM rotas)
               AND NOT EXISTS (SELECT 1 FROM tally.verify())"
for definition in "'busiest', 'rotas', 'max', 'busy'" "'first_hosts', 'rotas', 'min', 'hosts'"; do
  early="$(q -d tally_previous -c "SELECT tally.create_metric($definition)" 2>&1 || true)"
  grep -q "older than the installed library" <<<"$early" \
    || fail "create_metric($definition) on a $PREVIOUS catalog did not ask for the update: $early"
done
# A typed view over an array metric (0.18.0) made by this library on the 0.18.0 catalog: it
# casts the figure as 0.18.0's views do (found by a review: it named tally._array_figure,
# which that catalog lacks, and create_dashboard failed).
[ "$(quiet_q -d tally_previous \
       -c "SELECT tally.create_metric('top_pair', 'rotas', 'max', 'ARRAY[id % 7, id]') IS NOT NULL" \
       -c "SELECT count(*) FROM (SELECT tally.create_dashboard('rota_board', ARRAY['top_pair'], view_name => 'rota_view')) d" \
       -c "SELECT top_pair = (SELECT max(ARRAY[id % 7, id]) FROM rotas) FROM rota_view" \
       | tr '\n' ' ')" = "t 1 t " ] \
  || fail "a typed view over an array metric could not be made on a $PREVIOUS catalog"
ROTAS_ORDERED="SELECT tally.value('busiest', NULL::int4multirange) = (SELECT busy FROM rotas ORDER BY busy DESC LIMIT 1)
                  AND tally.value('first_hosts', NULL::inet[]) = (SELECT min(hosts) FROM rotas)"
[ "$(quiet_q -d tally_previous -c "INSERT INTO rotas VALUES (1001, '{[1,3),[3,5)}', NULL)" -c "$ROTAS_EXACT" \
       -c "ALTER EXTENSION pg_tally UPDATE" -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_tally'" \
       -c "UPDATE rotas SET busy = busy + '{[40,41)}' WHERE id % 5 = 0" -c "$ROTAS_EXACT" \
       -c "SELECT tally.create_metric('busiest', 'rotas', 'max', 'busy') IS NOT NULL" \
       -c "SELECT tally.create_metric('first_hosts', 'rotas', 'min', 'hosts') IS NOT NULL" \
       -c "$ROTAS_ORDERED" -c "DELETE FROM rotas WHERE id % 5 = 0 OR hosts = '{10.0.0.0}'" -c "$ROTAS_ORDERED" \
       -c "$ROTAS_EXACT" | tr '\n' ' ')" = "t $CURRENT t t t t t t " ] \
  || fail "a count_distinct over a multirange, or min and max over multiranges and inet arrays, are wrong across the update from $PREVIOUS"
# The updated constraint takes the library's names only.
bogus="$(q -d tally_previous -c "INSERT INTO tally._value_type (metric_id, type_name) VALUES (-1, 'no such type')" 2>&1 || true)"
grep -q "_value_type_type_name_check" <<<"$bogus" \
  || fail "after the update from $PREVIOUS, tally._value_type took a name no value type has: $bogus"
# 0.20.0 added min, max and count_distinct over Postgres' own types (oid, pg_lsn, "char",
# tid, name, xid8...) and tsvector: on a 0.19.0 catalog such a definition asks for the
# update. A max over an int8multirange (0.19.0) stays exact across it.
PREVIOUS=0.19.0
echo "upgrade: a $PREVIOUS catalog under this library, a multirange max across its update, then the system types and tsvector"
fresh_previous_db
q -d tally_previous >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION pg_tally VERSION '$PREVIOUS';
CREATE TABLE replicas (id int PRIMARY KEY, spans int8multirange, lsn pg_lsn, words tsvector, txid xid, kind "char",
                       host name);
INSERT INTO replicas SELECT i, int8multirange(int8range(i % 5, i % 5 + 2)), ((i * 7919)::numeric + '0/0'::pg_lsn),
                            to_tsvector('simple', 'word' || i % 13), ((i * 2147483659::bigint) % 4294967296)::text::xid,
                            chr(65 + i % 26)::"char", 'replica' || i % 17
  FROM generate_series(1, 300) i;
SELECT tally.create_metric('widest', 'replicas', 'max', 'spans');
SQL
REPLICAS_EXACT="SELECT tally.value('widest', NULL::int8multirange) = (SELECT spans FROM replicas ORDER BY spans DESC LIMIT 1)
                  AND NOT EXISTS (SELECT 1 FROM tally.verify())"
for definition in "'last_lsn', 'replicas', 'max', 'lsn'" "'transactions', 'replicas', 'count_distinct', 'txid'" \
                  "'last_host', 'replicas', 'max', 'host'" "'first_words', 'replicas', 'min', 'words'"; do
  early="$(q -d tally_previous -c "SELECT tally.create_metric($definition)" 2>&1 || true)"
  grep -q "older than the installed library" <<<"$early" \
    || fail "create_metric($definition) on a $PREVIOUS catalog did not ask for the update: $early"
done
REPLICAS_NEW="SELECT tally.value('last_lsn', NULL::pg_lsn) = (SELECT max(lsn) FROM replicas)
                AND tally.value('transactions') = (SELECT count(*) FROM (SELECT DISTINCT txid FROM replicas WHERE txid IS NOT NULL) d)
                AND tally.value('last_host', NULL::text) = (SELECT max(host::text COLLATE \"C\") FROM replicas)
                AND tally.value('first_words', NULL::tsvector) = (SELECT words FROM replicas ORDER BY words LIMIT 1)
                AND tally.value('top_kind', NULL::\"char\") = (SELECT max(kind) FROM replicas)"
[ "$(quiet_q -d tally_previous -c "INSERT INTO replicas VALUES (1001, '{[1,3),[30,40)}')" -c "$REPLICAS_EXACT" \
       -c "ALTER EXTENSION pg_tally UPDATE" -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_tally'" \
       -c "UPDATE replicas SET spans = spans + '{[50,51)}' WHERE id % 5 = 0" -c "$REPLICAS_EXACT" \
       -c "SELECT tally.create_metric('last_lsn', 'replicas', 'max', 'lsn') IS NOT NULL" \
       -c "SELECT tally.create_metric('transactions', 'replicas', 'count_distinct', 'txid') IS NOT NULL" \
       -c "SELECT tally.create_metric('last_host', 'replicas', 'max', 'host') IS NOT NULL" \
       -c "SELECT tally.create_metric('first_words', 'replicas', 'min', 'words') IS NOT NULL" \
       -c "SELECT tally.create_metric('top_kind', 'replicas', 'max', 'kind') IS NOT NULL" \
       -c "$REPLICAS_NEW" -c "DELETE FROM replicas WHERE id % 4 = 0 OR lsn = (SELECT max(lsn) FROM replicas)" \
       -c "$REPLICAS_NEW" -c "$REPLICAS_EXACT" | tr '\n' ' ')" = "t $CURRENT t t t t t t t t t " ] \
  || fail "a max over a multirange, or min, max and count_distinct over pg_lsn, xid, name, tsvector and \"char\", are wrong across the update from $PREVIOUS"
# 0.21.0 names a tracked value once in the change queries (tally._kept_value, and
# tally._tracked_tsvector of the tsvector itself): on a 0.20.0 catalog this library writes with
# the 0.20.0 queries, and refuses a value past the size an index takes at the same byte
# (2032 nines take 1024 bytes as a numeric, 2033 take 1026) before and after the update. The
# arrays of Postgres' own types and aclitem need no update.
PREVIOUS=0.20.0
echo "upgrade: a $PREVIOUS catalog under this library, tsvector and value-size limits across its update, then arrays of Postgres' own types"
fresh_previous_db
q -d tally_previous >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION pg_tally VERSION '$PREVIOUS';
CREATE TABLE notes (id int PRIMARY KEY, body text, amount numeric, positions pg_lsn[], grant_item aclitem);
INSERT INTO notes SELECT i, 'note ' || i % 23 || ' word' || i % 7, i % 11, ARRAY[(i::numeric + '0/0'::pg_lsn)],
                         ('=' || (ARRAY['r', 'w', 'rw'])[1 + i % 3] || '/postgres')::aclitem
  FROM generate_series(1, 300) i;
SELECT tally.create_metric('first_words', 'notes', 'min', 'to_tsvector(''simple'', body)');
SELECT tally.create_metric('amounts', 'notes', 'count_distinct', 'amount');
SELECT tally.create_metric('last_positions', 'notes', 'max', 'positions');
SELECT tally.create_metric('grants', 'notes', 'count_distinct', 'grant_item');
SQL
NOTES_EXACT="SELECT tally.value('first_words', NULL::tsvector) = (SELECT to_tsvector('simple', body) FROM notes ORDER BY 1 LIMIT 1)
               AND tally.value('amounts') = (SELECT count(DISTINCT amount) FROM notes)
               AND tally.value('last_positions', NULL::pg_lsn[]) = (SELECT max(positions) FROM notes)
               AND tally.value('grants') = (SELECT count(*) FROM (SELECT grant_item FROM notes WHERE grant_item IS NOT NULL GROUP BY 1) d)
               AND NOT EXISTS (SELECT 1 FROM tally.verify())"
LIMITS="SELECT (SELECT count(*) FROM (SELECT 1 FROM notes WHERE id = 2001) d) = 1"
for round in before after; do
  [ "$round" = after ] && q -d tally_previous -c "ALTER EXTENSION pg_tally UPDATE" >/dev/null
  q -d tally_previous -c "DELETE FROM notes WHERE id > 2000" >/dev/null
  too_long="$(q -d tally_previous -c "INSERT INTO notes (id, amount) VALUES (2002, repeat('9', 2033)::numeric)" 2>&1 || true)"
  grep -q "cannot track a value of 2033 digits" <<<"$too_long" \
    || fail "$round the update from $PREVIOUS, a numeric of 1026 bytes was not refused: $too_long"
  [ "$(quiet_q -d tally_previous -c "INSERT INTO notes (id, amount) VALUES (2001, repeat('9', 2032)::numeric)" \
         -c "$LIMITS" -c "UPDATE notes SET body = body || ' more' WHERE id % 9 = 0" -c "$NOTES_EXACT" \
         | tr '\n' ' ')" = "t t " ] \
    || fail "$round the update from $PREVIOUS, a numeric of 1024 bytes was refused or a figure is wrong"
done
[ "$(q -d tally_previous -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_tally'")" = "$CURRENT" ] \
  || fail "the update from $PREVIOUS did not reach $CURRENT"
[ "$(quiet_q -d tally_previous -c "DELETE FROM notes WHERE id % 4 = 0 OR body LIKE 'note 0 %'" -c "$NOTES_EXACT")" = "t" ] \
  || fail "a tsvector min, a count_distinct over aclitem or a max over pg_lsn[] is wrong after the update from $PREVIOUS"
# 0.22.0 counts text in a nondeterministic collation (tally._tracked_collated): on a 0.21.0
# catalog this library refuses such a metric, asking for the update (as 0.21.0 refused it
# outright), and writes the older metrics on; after the update it takes it, exact.
PREVIOUS=0.21.0
echo "upgrade: a $PREVIOUS catalog under this library, then count_distinct in a nondeterministic collation"
fresh_previous_db
q -d tally_previous >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION pg_tally VERSION '$PREVIOUS';
CREATE COLLATION case_blind (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE people (id int PRIMARY KEY, email text COLLATE case_blind, plain text);
INSERT INTO people SELECT i, (ARRAY['Ann', 'ann', 'ANN', 'bob'])[1 + i % 4] || '@x.io', 'p' || i % 9
  FROM generate_series(1, 200) i;
SELECT tally.create_metric('plains', 'people', 'count_distinct', 'plain');
SQL
refused="$(q -d tally_previous -c "SELECT tally.create_metric('emails', 'people', 'count_distinct', 'email')" 2>&1 || true)"
grep -q "ALTER EXTENSION pg_tally UPDATE" <<<"$refused" \
  || fail "on a $PREVIOUS catalog, count_distinct in a nondeterministic collation did not ask for the update: $refused"
q -d tally_previous -c "ALTER EXTENSION pg_tally UPDATE" >/dev/null
PEOPLE_EXACT="SELECT tally.value('emails') = (SELECT count(DISTINCT email) FROM people)
                AND tally.value('plains') = (SELECT count(DISTINCT plain) FROM people)
                AND NOT EXISTS (SELECT 1 FROM tally.verify())"
[ "$(quiet_q -d tally_previous -c "SELECT tally.create_metric('emails', 'people', 'count_distinct', 'email') IS NOT NULL" \
       -c "INSERT INTO people VALUES (201, 'BOB@X.IO', 'p1'), (202, 'carol@x.io', 'p99')" \
       -c "DELETE FROM people WHERE id % 4 = 0" -c "$PEOPLE_EXACT" | tr '\n' ' ')" = "t t " ] \
  || fail "count_distinct in a nondeterministic collation is wrong after the update from $PREVIOUS"
[ "$(q -d tally_previous -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_tally'")" = "$CURRENT" ] \
  || fail "the update from $PREVIOUS did not reach $CURRENT"
# 0.23.0 counts rows of values (tally._tracked_record): on a 0.22.0 catalog this library
# refuses such a metric, asking for the update, and writes the older metrics on; after the
# update it takes it, exact.
PREVIOUS=0.22.0
echo "upgrade: a $PREVIOUS catalog under this library, then count_distinct over a row"
fresh_previous_db
q -d tally_previous >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION pg_tally VERSION '$PREVIOUS';
CREATE TABLE visits (id int PRIMARY KEY, user_id int, at timestamptz);
INSERT INTO visits SELECT i, i % 13, '2026-12-01'::timestamptz + i * interval '37 minutes'
  FROM generate_series(1, 300) i;
SELECT tally.create_metric('visitors', 'visits', 'count_distinct', 'user_id');
SQL
USER_DAY="(user_id, (at AT TIME ZONE 'UTC')::date)"
refused="$(q -d tally_previous -c "SELECT tally.create_metric('user_days', 'visits', 'count_distinct', \$\$$USER_DAY\$\$)" 2>&1 || true)"
grep -q "ALTER EXTENSION pg_tally UPDATE" <<<"$refused" \
  || fail "on a $PREVIOUS catalog, count_distinct over a row did not ask for the update: $refused"
q -d tally_previous -c "INSERT INTO visits VALUES (301, 1, '2026-12-24')" >/dev/null
q -d tally_previous -c "ALTER EXTENSION pg_tally UPDATE" >/dev/null
VISITS_EXACT="SELECT tally.value('user_days') = (SELECT count(DISTINCT $USER_DAY) FROM visits)
                AND tally.value('visitors') = (SELECT count(DISTINCT user_id) FROM visits)
                AND NOT EXISTS (SELECT 1 FROM tally.verify())"
[ "$(quiet_q -d tally_previous -c "SELECT tally.create_metric('user_days', 'visits', 'count_distinct', \$\$$USER_DAY\$\$) IS NOT NULL" \
       -c "INSERT INTO visits VALUES (302, NULL, NULL), (303, 99, '2026-12-25')" \
       -c "DELETE FROM visits WHERE id % 4 = 0" -c "$VISITS_EXACT" | tr '\n' ' ')" = "t t " ] \
  || fail "count_distinct over a row is wrong after the update from $PREVIOUS"
[ "$(q -d tally_previous -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_tally'")" = "$CURRENT" ] \
  || fail "the update from $PREVIOUS did not reach $CURRENT"
# 0.24.0 counts arrays of enums and rows with enum fields, in the library only: on a 0.23.0
# catalog it takes them before the update (their labels saved in 0.16.0's tally._group_enum,
# a rename followed), and the update, which only moves the version, keeps them exact.
PREVIOUS=0.23.0
echo "upgrade: a $PREVIOUS catalog under this library: count_distinct over enums in arrays and rows, a label renamed, then the update"
fresh_previous_db
q -d tally_previous >/dev/null <<SQL
SET client_min_messages = warning;
CREATE EXTENSION pg_tally VERSION '$PREVIOUS';
CREATE TYPE flag AS ENUM ('new', 'late', 'gift');
CREATE TABLE parcels (id int PRIMARY KEY, customer int, state flag, flags flag[]);
INSERT INTO parcels SELECT i, i % 11, (enum_range(NULL::flag))[1 + i % 3],
                           ARRAY[(enum_range(NULL::flag))[1 + i % 3], (enum_range(NULL::flag))[1 + i % 2]]
  FROM generate_series(1, 300) i;
SELECT tally.create_metric('flag_sets', 'parcels', 'count_distinct', 'flags');
SELECT tally.create_metric('customer_states', 'parcels', 'count_distinct', '(customer, state)');
SQL
PARCELS_EXACT="SELECT tally.value('flag_sets') = (SELECT count(DISTINCT flags) FROM parcels)
                 AND tally.value('customer_states') = (SELECT count(DISTINCT (customer, state)) FROM parcels)
                 AND NOT EXISTS (SELECT 1 FROM tally.verify())"
[ "$(quiet_q -d tally_previous -c "ALTER TYPE flag RENAME VALUE 'late' TO 'delayed'" \
       -c "DELETE FROM parcels WHERE 'delayed' = ANY (flags) AND id % 2 = 0" -c "$PARCELS_EXACT")" = "t" ] \
  || fail "on a $PREVIOUS catalog, count_distinct over enums in an array or a row is wrong after a label renamed"
q -d tally_previous -c "ALTER EXTENSION pg_tally UPDATE" >/dev/null
[ "$(quiet_q -d tally_previous -c "INSERT INTO parcels VALUES (301, 99, 'gift', '{gift,NULL}')" \
       -c "UPDATE parcels SET flags = flags || 'new'::flag WHERE id % 5 = 0" -c "$PARCELS_EXACT")" = "t" ] \
  || fail "count_distinct over enums in an array or a row is wrong after the update from $PREVIOUS"
[ "$(q -d tally_previous -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_tally'")" = "$CURRENT" ] \
  || fail "the update from $PREVIOUS did not reach $CURRENT"
echo "upgrade: OK ($(wc -l < "$root/target/upgrade-fresh.txt") catalog lines identical; figures exact before, during and after)"
