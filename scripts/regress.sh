#!/usr/bin/env bash
# pg_regress golden tests: tests/pg_regress/sql/*.sql must print tests/pg_regress/expected/*.out.
# Needs a running cluster (PGTALLY_PORT) with the extension installed; scripts/test.sh does both.
# Pass test names to run a subset; results land in target/pg_regress (diffs in regression.diffs).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
port="${PGTALLY_PORT:-5499}"
pg_config="${PGTALLY_PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}"
pg_regress="$(dirname "$("$pg_config" --pgxs)")/../test/regress/pg_regress"
out="$root/target/pg_regress"
mkdir -p "$out"
if [ "$#" -gt 0 ]; then tests=("$@"); else
  mapfile -t tests < tests/pg_regress/schedule   # setup first, then the rest in order
fi
# PGTZ/PGDATESTYLE make timestamps print the same on every machine.
PGTZ=UTC PGDATESTYLE="ISO, YMD" PGOPTIONS="-c intervalstyle=postgres -c client_min_messages=notice" \
"$pg_regress" --bindir="$("$pg_config" --bindir)" --host=127.0.0.1 --port="$port" --user=postgres --dbname=tally_regress \
  --inputdir=tests/pg_regress --outputdir="$out" "${tests[@]}" || {
  echo "pg_regress failed; differences:"; cat "$out/regression.diffs" 2>/dev/null | head -200; exit 1; }
