#!/usr/bin/env python3
"""pg_tally benchmark: the Django admin dashboard workload, every method in one run.

    python3 bench/run.py [--scales 0.1,1] [--seconds 5] [--reps 3]

Methods: BASE (no maintenance; its dashboard read is the live 2-query FILTER dashboard),
PG_TALLY_KEYS_INT / PG_TALLY_KEYS_TEXT / PG_TALLY_KEYS_JSONB / PG_TALLY_KEYS_ARRAY /
PG_TALLY_KEYS_RANGES / PG_TALLY_KEYS_ROW (the dashboard plus a count_distinct and a max over the
buyer: an integer key, an email-shaped text key, a small jsonb document, a two-integer array, a
multirange of two ranges, or a row of two integers, whose max is the integer key's),
MATVIEW (native materialized view, stale until REFRESH), PLPGSQL (hand-written row-level
counter triggers), PG_TALLY, PG_TALLY_SQL (pg_tally with tally.direct_writes off: every
statement through the prepared delta INSERT), PG_TALLY_BGW (pg_tally with its background
compactor), TRIGGER_FLOOR (no figure at all: a plpgsql statement trigger that inserts one
constant row into an indexed log table per write statement, the least any trigger that
records each statement durably pays; its read column is `SELECT 1`). Phases (pgbench, medians of --reps runs): R (dashboard read, 1
client), R8W (the same while 8 inserters run), W1/W8 (single-row INSERT, 1 and 8 clients),
U1/U8 (random status UPDATE), W1c/U1c (same with synchronous_commit=off: CPU-bound), B
(100k-row INSERT ... SELECT). After every phase every pg_tally figure is compared with the live
aggregate; the run exits non-zero on a mismatch. Prints one markdown table with ratios.
A scale of 1 is 100k users / 1M orders.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SQL = os.path.join(ROOT, "bench", "sql")
METHODS = ["BASE", "MATVIEW", "PLPGSQL", "TRIGGER_FLOOR", "PG_TALLY", "PG_TALLY_SQL", "PG_TALLY_BGW",
           "PG_TALLY_KEYS_INT", "PG_TALLY_KEYS_TEXT", "PG_TALLY_KEYS_JSONB", "PG_TALLY_KEYS_ARRAY",
           "PG_TALLY_KEYS_RANGES", "PG_TALLY_KEYS_ROW"]
READ_SCRIPT = {"BASE": "read_live.sql", "MATVIEW": "read_matview.sql",
               "PLPGSQL": "read_plpgsql.sql", "PG_TALLY": "read_tally.sql", "PG_TALLY_SQL": "read_tally.sql",
               "PG_TALLY_BGW": "read_tally.sql", "TRIGGER_FLOOR": "read_floor.sql",
               "PG_TALLY_KEYS_INT": "read_tally.sql", "PG_TALLY_KEYS_TEXT": "read_tally.sql",
               "PG_TALLY_KEYS_JSONB": "read_tally.sql", "PG_TALLY_KEYS_ARRAY": "read_tally.sql",
               "PG_TALLY_KEYS_RANGES": "read_tally.sql", "PG_TALLY_KEYS_ROW": "read_tally.sql"}
# PG_TALLY_KEYS_INT / PG_TALLY_KEYS_TEXT (0.12.0): pg_tally's dashboard plus a count_distinct
# and a max over each order's buyer, as its integer id or as an email-shaped text key
# ('user' || user_id || '@example.com' in collation "C"): what a text key costs a write
# beyond an integer one.
# PG_TALLY_KEYS_JSONB (0.14.0): the same key as a jsonb document, {"user": 42, "domain":
# "example.com"}: what a jsonb value (its text, its numbers made shortest) costs a write.
# PG_TALLY_KEYS_ARRAY / PG_TALLY_KEYS_RANGES (0.19.0): the key as an int[] of two parts, or an
# int8multirange of two ranges: what an array's or multirange's key (read from the datum,
# count_distinct's and max's own) costs a write.
# PG_TALLY_KEYS_ROW (0.23.0): the count_distinct key as an anonymous row of two fields,
# (user_id % 1000, user_id), "distinct user-days"' shape; a row has no max, so its max is
# KEYS_INT's, over user_id: what a row's key (its fields read from the datum) costs a write
# beyond an integer one.
KEYS = {"PG_TALLY_KEYS_INT": "'user_id'",
        "PG_TALLY_KEYS_TEXT": """$$('user' || user_id || '@example.com') COLLATE "C"$$""",
        "PG_TALLY_KEYS_JSONB": """$$('{"user": ' || user_id || ', "domain": "example.com"}')::jsonb$$""",
        "PG_TALLY_KEYS_ARRAY": "'ARRAY[user_id % 1000, user_id]'",
        "PG_TALLY_KEYS_RANGES": "'int8multirange(int8range(user_id, user_id + 2), int8range(user_id + 5, user_id + 9))'",
        "PG_TALLY_KEYS_ROW": "'(user_id % 1000, user_id)'"}
# The max of a KEYS method, where it is not over its count_distinct's key.
MAX_KEYS = {"PG_TALLY_KEYS_ROW": "'user_id'"}
# PG_TALLY_BGW: pg_tally with its background compactor (the cluster preloads pg_tally and
# names this method's database in tally.compactor_databases); writers there do not fold.
# PG_TALLY_SQL: pg_tally with tally.direct_writes off, so single-row statements also run the
# prepared delta INSERT (the 0.2.0 write path), for comparison in the same run.
BGW_DB = "bench_pg_tally_bgw"


class Bench:
    def __init__(self, args):
        self.args = args
        self.port = str(args.port)
        self.mismatches = 0

    # --- plumbing -------------------------------------------------------------------------
    def psql(self, db, sql, quiet=True):
        out = subprocess.run(
            ["psql", "-X", "-qtA", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", self.port,
             "-U", "postgres", "-d", db, "-c", sql],
            capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(f"psql failed on {db}: {sql[:200]}\n{out.stderr}")
        return out.stdout.strip()

    def psql_file(self, db, path):
        subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", self.port,
                        "-U", "postgres", "-d", db, "-f", path], check=True, capture_output=True)

    def pgbench(self, db, script, clients, seconds=None, transactions=None, sync_commit=True, variables=None):
        cmd = ["pgbench", "-n", "-M", "prepared", "-h", "127.0.0.1", "-p", self.port, "-U", "postgres",
               "-c", str(clients), "-j", str(min(clients, 2)), "-f", os.path.join(SQL, script)]
        cmd += ["-T", str(seconds)] if seconds else ["-t", str(transactions)]
        for k, v in (variables or {}).items():
            cmd += ["-D", f"{k}={v}"]
        cmd.append(db)
        env = dict(os.environ)
        if not sync_commit:
            env["PGOPTIONS"] = "-c synchronous_commit=off"
        out = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if out.returncode not in (0, 2):  # 2: some transactions failed; reported, not fatal
            raise RuntimeError(f"pgbench failed: {' '.join(cmd)}\n{out.stderr}\n{out.stdout}")
        text = out.stdout
        tps = float(re.search(r"tps = ([\d.]+)", text).group(1))
        lat = float(re.search(r"latency average = ([\d.]+) ms", text).group(1))
        failed = re.search(r"number of failed transactions: (\d+)", text)
        return {"tps": tps, "lat": lat, "failed": int(failed.group(1)) if failed else 0}

    def deadlocks(self, db):
        return int(self.psql("postgres", f"SELECT deadlocks FROM pg_stat_database WHERE datname = '{db}'") or 0)

    # --- data -----------------------------------------------------------------------------
    def template(self, scale):
        users, orders = int(100_000 * scale), int(1_000_000 * scale)
        name = f"bench_tmpl_{orders}"
        exists = self.psql("postgres", f"SELECT 1 FROM pg_database WHERE datname = '{name}'")
        if exists:
            return name, users, orders
        print(f"[bench] generating {users} users / {orders} orders into {name}", flush=True)
        self.psql("postgres", f"CREATE DATABASE {name}")
        self.psql_file(name, os.path.join(ROOT, "examples", "demo", "schema.sql"))
        self.psql(name, f"""INSERT INTO users (email, is_active, created_at)
            SELECT 'user' || i || '@example.com', random() < 0.7, now() - random() * interval '730 days'
              FROM generate_series(1, {users}) i""")
        step = 200_000
        for start in range(0, orders, step):
            n = min(step, orders - start)
            self.psql(name, f"""INSERT INTO orders (user_id, status, amount, created_at)
                SELECT 1 + (random() * ({users} - 1))::bigint,
                       (ARRAY['PENDING','PAID','SHIPPED','CANCELLED','REFUNDED'])[1 + (random() * 4)::int],
                       round((5 + random() * 495)::numeric, 2), now() - random() * interval '365 days'
                  FROM generate_series(1, {n})""")
            print(f"[bench]   orders {start + n}/{orders}", flush=True)
        self.psql(name, "VACUUM ANALYZE")
        return name, users, orders

    def fresh(self, method, template):
        db = f"bench_{method.lower()}"
        self.psql("postgres", f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        self.psql("postgres", f"CREATE DATABASE {db} TEMPLATE {template}")
        if method == "MATVIEW":
            self.psql_file(db, os.path.join(SQL, "matview.sql"))
        elif method == "PLPGSQL":
            self.psql_file(db, os.path.join(SQL, "plpgsql_counters.sql"))
        elif method == "TRIGGER_FLOOR":
            self.psql_file(db, os.path.join(SQL, "trigger_floor.sql"))
        elif method.startswith("PG_TALLY"):
            self.psql(db, "CREATE EXTENSION pg_tally")
            self.psql_file(db, os.path.join(ROOT, "examples", "demo", "metrics.sql"))
            if method == "PG_TALLY_SQL":
                self.psql(db, f"ALTER DATABASE {db} SET tally.direct_writes = off")
            if method in KEYS:
                self.psql(db, f"""SELECT tally.create_metric('buyers', 'orders', 'count_distinct', {KEYS[method]});
                                  SELECT tally.create_metric('last_buyer', 'orders', 'max', {MAX_KEYS.get(method, KEYS[method])})""")
        self.psql(db, "VACUUM ANALYZE")
        self.psql(db, "CHECKPOINT")
        return db

    # --- exactness ------------------------------------------------------------------------
    def check(self, db, phase):
        """pg_tally figures vs the live aggregate, after folding nothing (pending deltas count)."""
        live = """jsonb_build_object(
            'total_users', (SELECT count(*) FROM users),
            'active_users', (SELECT count(*) FROM users WHERE is_active),
            'total_orders', (SELECT count(*) FROM orders),
            'orders_today', (SELECT count(*) FROM orders WHERE created_at >= date_trunc('day', now(), 'UTC')),
            'revenue_today', (SELECT coalesce(sum(amount), 0) FROM orders
                               WHERE created_at >= date_trunc('day', now(), 'UTC') AND status IN ('PAID', 'SHIPPED')),
            'orders_per_status', (SELECT jsonb_object_agg(status, n) FROM
                                  (SELECT status, count(*) AS n FROM orders GROUP BY status) s))"""
        same = self.psql(db, f"SELECT (tally.snapshot('admin') - 'as_of') = {live}")
        drift = self.psql(db, "SELECT count(*) FROM tally.verify()")
        ok = same == "t" and drift == "0"
        if not ok:
            self.mismatches += 1
        print(f"[bench]   check after {phase}: {'OK' if ok else 'MISMATCH'}", flush=True)
        return ok

    # --- phases ---------------------------------------------------------------------------
    def median_run(self, db, script, clients, **kw):
        runs = [self.pgbench(db, script, clients, seconds=self.args.seconds, **kw) for _ in range(self.args.reps)]
        return {"tps": statistics.median(r["tps"] for r in runs),
                "lat": statistics.median(r["lat"] for r in runs),
                "failed": sum(r["failed"] for r in runs)}

    def read_under_writers(self, db, method, variables):
        writer = subprocess.Popen(
            ["pgbench", "-n", "-M", "prepared", "-h", "127.0.0.1", "-p", self.port, "-U", "postgres",
             "-c", "8", "-j", "2", "-T", str(self.args.seconds * self.args.reps + 2),
             "-f", os.path.join(SQL, "insert.sql"), "-D", f"users={variables['users']}", db],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1)
        result = self.median_run(db, READ_SCRIPT[method], 1)
        writer.communicate()
        return result

    def run_method(self, method, template, users, orders):
        print(f"[bench] {method}", flush=True)
        db = self.fresh(method, template)
        v = {"users": users, "orders": orders}
        tally = method.startswith("PG_TALLY")
        row = {"failed": 0}
        dead0 = self.deadlocks(db)

        row["R"] = self.median_run(db, READ_SCRIPT[method], 1)
        # TRIGGER_FLOOR has no dashboard to read: its read column is the round-trip floor.
        row["R8W"] = None if method == "TRIGGER_FLOOR" else self.read_under_writers(db, method, v)
        tally and self.check(db, "R8W")
        for name, script, clients, sync in [("W1", "insert.sql", 1, True), ("W8", "insert.sql", 8, True),
                                            ("U1", "update.sql", 1, True), ("U8", "update.sql", 8, True),
                                            ("W1c", "insert.sql", 1, False), ("U1c", "update.sql", 1, False)]:
            row[name] = self.median_run(db, script, clients, sync_commit=sync, variables=v)
            row["failed"] += row[name]["failed"]
            tally and self.check(db, name)
        row["B"] = self.bulk(db, method, v)
        tally and self.check(db, "B")
        row["deadlocks"] = self.deadlocks(db) - dead0
        if method == "MATVIEW":
            t0 = time.time()
            self.psql(db, "REFRESH MATERIALIZED VIEW dashboard_mv")
            row["refresh_ms"] = (time.time() - t0) * 1000
        if tally:
            t0 = time.time()
            self.psql(db, "SELECT tally.compact()")
            row["compact_ms"] = (time.time() - t0) * 1000
            self.check(db, "compact")
        return row

    def bulk(self, db, method, v):
        reps = 1 if method == "PLPGSQL" else self.args.reps  # row triggers: minutes per run
        runs = []
        for _ in range(reps):
            env_timeout = self.args.bulk_timeout
            try:
                r = subprocess.run(
                    ["pgbench", "-n", "-h", "127.0.0.1", "-p", self.port, "-U", "postgres", "-t", "1",
                     "-f", os.path.join(SQL, "bulk.sql"), "-D", f"users={v['users']}", db],
                    capture_output=True, text=True, timeout=env_timeout)
                runs.append(float(re.search(r"latency average = ([\d.]+) ms", r.stdout).group(1)))
            except subprocess.TimeoutExpired:
                self.psql("postgres", f"SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE datname = '{db}'")
                return {"lat": None, "timeout": env_timeout}
        return {"lat": statistics.median(runs)}


def fmt_ratio(x, base):
    return f"{x:,.0f} ({x / base:.2f}×)" if base else f"{x:,.0f}"


def table(results, floor):
    lines = [
        f"Read floor (`SELECT 1` through pgbench, 1 client): {floor['lat']:.3f} ms",
        "",
        "| scale | method | R ms | R tps | R ms, 8 writers | W1 tps | W8 tps | U1 tps | U8 tps | W1 tps, sync off | U1 tps, sync off | B ms (100k rows) | failed tx | deadlocks |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for scale, rows in results:
        base = rows["BASE"]
        for method, r in rows.items():
            b = r["B"]
            bulk = (f">{b['timeout']}s timeout" if b["lat"] is None else
                    f"{b['lat']:,.0f} ({b['lat'] / base['B']['lat']:.2f}×)")
            stale = {"MATVIEW": " (stale)", "TRIGGER_FLOOR": " (SELECT 1)"}.get(method, "")
            lines.append("| " + " | ".join([
                scale, method + {"BASE": " (live 2-query read)", "TRIGGER_FLOOR": " (no figures)"}.get(method, ""),
                f"{r['R']['lat']:.3f}{stale}", f"{r['R']['tps']:,.0f}", f"{r['R8W']['lat']:.3f}" if r["R8W"] else "—",
                *[fmt_ratio(r[p]["tps"], base[p]["tps"]) for p in ["W1", "W8", "U1", "U8", "W1c", "U1c"]],
                bulk, str(r["failed"]), str(r["deadlocks"])]) + " |")
    extra = []
    for scale, rows in results:
        if "refresh_ms" in rows.get("MATVIEW", {}):
            extra.append(f"- {scale}: REFRESH MATERIALIZED VIEW took {rows['MATVIEW']['refresh_ms']:,.0f} ms; "
                         f"tally.compact() after the run took {rows['PG_TALLY']['compact_ms']:,.0f} ms.")
    return "\n".join(lines + [""] + extra)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scales", default="0.1,1")
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--port", type=int, default=None, help="default 5496 on 15, 5506-5508 on 16-18")
    ap.add_argument("--pg", default="15", choices=["15", "16", "17", "18"],
                    help="PostgreSQL major to run on (16-18: the PyPI tree of scripts/postgres.sh)")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--bulk-timeout", type=int, default=120)
    ap.add_argument("--no-install", action="store_true", help="skip building/installing the extension")
    args = ap.parse_args()

    if not args.no_install:
        subprocess.run(["bash", os.path.join(ROOT, "scripts", "install-deps.sh")], check=True)
    # After install-deps.sh (which writes 15's line of $PGRX_HOME/config.toml): this records the major's tree there.
    pg_config = subprocess.run(["bash", os.path.join(ROOT, "scripts", "postgres.sh"), args.pg], check=True,
                               capture_output=True, text=True).stdout.strip()
    data = os.path.join(ROOT, ".pgdata-bench" + ("" if args.pg == "15" else args.pg))
    # Each major's cluster on its own port, so one left running never blocks another's.
    port = args.port if args.port else (5496 if args.pg == "15" else 5490 + int(args.pg))
    args.port = port
    env = dict(os.environ, PGTALLY_PORT=str(port), PGTALLY_DATA=data, PGTALLY_PG_CONFIG=pg_config,
               PGTALLY_COMPACTOR_DBS=BGW_DB)
    env.pop("PGTALLY_CRON_DB", None)
    env.pop("RUST_BACKTRACE", None)
    if not args.no_install:
        subprocess.run(["cargo", "pgrx", "install", "--release", "--no-default-features", "--features",
                        f"pg{args.pg}", "--pg-config", pg_config], check=True, cwd=ROOT, env=env,
                       stdout=subprocess.DEVNULL)
    subprocess.run(["bash", os.path.join(ROOT, "scripts", "cluster.sh"), "restart"], check=True, env=env)

    bench = Bench(args)
    methods = [m for m in args.methods.split(",") if m]
    if "BASE" not in methods:
        methods.insert(0, "BASE")
    floor = bench.pgbench("postgres", "read_floor.sql", 1, seconds=args.seconds)
    results = []
    for scale in [float(s) for s in args.scales.split(",")]:
        template, users, orders = bench.template(scale)
        rows = {m: bench.run_method(m, template, users, orders) for m in methods}
        results.append((f"{users // 1000}k users / {orders // 1000}k orders", rows))
    cpu = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    print()
    version = bench.psql("postgres", "SHOW server_version")
    print(f"Machine: {cpu} cores, PostgreSQL {version} defaults (fsync on, synchronous_commit on unless noted), "
          f"pgbench -M prepared, {args.seconds}s × {args.reps} runs, medians; ratios are against BASE.")
    print()
    print(table(results, floor))
    print()
    print("pg_tally exactness checks:", "all OK" if bench.mismatches == 0 else f"{bench.mismatches} MISMATCH")
    sys.exit(1 if bench.mismatches else 0)


if __name__ == "__main__":
    main()
