#!/usr/bin/env bash
# Runs every pg_tally test against a real PostgreSQL 15. This is the README's test command
# and what CI runs (.ci/run). Installs what is missing first; reruns skip finished installs.
#
# Stages, in order (name some to run only those: `bash scripts/test.sh lint unit`):
#   lint         cargo fmt --check, cargo clippy -D warnings, no SQL formatted outside
#                src/sql/ (and src/model/sql.rs), unsafe only in src/ffi* and */sys, no
#                import cycle, META.json valid (seconds, no cluster)
#   unit         plain #[test]s and property tests of pure logic (`cargo test --lib`, seconds,
#                no cluster)
#   regress      pg_regress golden tests (tests/pg_regress) on a throwaway local cluster
#   integration  tests over a real connection (randomized differential, concurrency, ...);
#                the #[pg_test]s inside Postgres (cargo pgrx's own test cluster)
#   faults       pg_dump/restore, kill -9 crash recovery, hot standby (tests/faults.sh); the
#                upgrade from the released 0.1.0, built from its git tag (tests/upgrade.sh);
#                the background compactor on a cluster that preloads pg_tally
#                (tests/compactor.sh); logical replication (tests/logical.sh)
#   slow         limits (tests/limits.sh), the pg_cron example (tests/cron.sh), the Django
#                example
# Every stage but lint and unit builds and installs the extension into the PostgreSQL under
# test first.
#
# PostgreSQL majors: the stages run against Debian's PostgreSQL 15, or PGTALLY_PG=16|17|18
# (fetched once into .pg-cache/ by scripts/postgres.sh): `PGTALLY_PG=17 bash scripts/test.sh`.
# A full run on 15 (no stage named, PGTALLY_PG unset) then runs the matrix: regress,
# integration and faults on each of PGTALLY_MATRIX (default "16 17 18"; empty skips it). The
# unit stage is left out there: integration's #[pg_test] run holds the same plain tests. On
# those majors the faults stage leaves out the upgrade from 0.1.0 (built for 15 only), and
# slow (pg_cron and Django come from Debian's 15) is refused. Last, pg_upgrade from 15 to each
# of 17 and 18 in the matrix (tests/pg-upgrade.sh), and the release packages of 15 (the .deb)
# and of the matrix's newest major (a tarball; the others are built by the same lines of
# scripts/package.sh), each installed as README says and used (tests/package.sh).
#
# PGTALLY_STATEMENTS (default 3000) sizes the differential test, PGTALLY_MATRIX_STATEMENTS
# (default 600) the matrix's: the majors run the same Rust, so 15 goes deep and the others
# broad (each major's own write paths, catalogs and hooks still meet every statement shape).
# PGTALLY_DIFFERENTIAL_MINUTES (default 8) and PGTALLY_MATRIX_DIFFERENTIAL_MINUTES (default 2)
# are the differential's time budgets: past one, it ends after its batch, once a sixth of its
# statements have run (it prints how many ran). CI's machines differ in speed by half or more
# (one run took 73 minutes, the next, doing less on a slower machine, over CI's 90), so the
# budgets keep a slow machine's run near an hour.
# PGTALLY_CONCURRENCY_SECONDS (default 8) sizes each isolation level of the concurrency test.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# Each step says how long the whole run (the matrix's nested runs included) has taken.
export PGTALLY_RUN_STARTED="${PGTALLY_RUN_STARTED:-$(date +%s)}"
export PGTALLY_DIFFERENTIAL_MINUTES="${PGTALLY_DIFFERENTIAL_MINUTES:-8}"
step() {
  local took=$(( $(date +%s) - PGTALLY_RUN_STARTED ))
  printf '\n==> [%dm%02ds] %s\n' $((took / 60)) $((took % 60)) "$*"
}

all_stages=(lint unit regress integration faults slow)
stages=("$@")
[ "${#stages[@]}" -gt 0 ] || stages=("${all_stages[@]}")
for stage in "${stages[@]}"; do
  case " ${all_stages[*]} " in *" $stage "*) ;; *)
    echo "unknown stage '$stage'; stages: ${all_stages[*]}" >&2; exit 2 ;;
  esac
done
wants() { case " ${stages[*]} " in *" $1 "*) return 0 ;; esac; return 1; }

major="${PGTALLY_PG:-15}"
if [ "$major" != 15 ] && wants slow; then
  echo "the slow stage runs on PostgreSQL 15 only (pg_cron and Django's example use Debian's)" >&2
  exit 2
fi
# A full run on 15 continues with the other majors.
run_matrix=false
if [ "$#" -eq 0 ] && [ "$major" = 15 ]; then run_matrix=true; fi

step "dependencies (PostgreSQL $major)"
bash scripts/install-deps.sh
export PGRX_HOME="${PGRX_HOME:-$HOME/.pgrx}"
PG_CONFIG="$(bash scripts/postgres.sh "$major")"
export PGTALLY_PG_CONFIG="$PG_CONFIG"
# Every build for this major: its pgrx feature instead of the default pg15.
features=(--no-default-features --features "pg$major")
# The server must not print Rust backtraces into user-visible errors.
unset RUST_BACKTRACE RUST_LIB_BACKTRACE


if wants lint; then
  step "lint: format, clippy, SQL only from src/sql/, unsafe only in ffi and sys, no import cycle"
  cargo fmt --check
  cargo clippy --all-targets --no-default-features --features "pg$major pg_test" -- -D warnings
  bash scripts/check-sql.sh   # no SQL formatted outside src/sql/ (docs/security.md)
  python3 scripts/check-imports.py
  python3 scripts/check-unsafe.py
  bash scripts/check-meta.sh     # META.json: the PGXN spec, Cargo.toml's version
fi

if wants unit; then
  step "unit: plain and property tests, no cluster"
  cargo test --lib "${features[@]}"
fi

needs_server=false
for stage in "${stages[@]}"; do
  case "$stage" in lint | unit) ;; *) needs_server=true ;; esac
done
if $needs_server; then
  step "install extension"
  cargo pgrx install "${features[@]}" --pg-config "$PG_CONFIG" >/dev/null

  step "test cluster"
  export PGTALLY_PORT="${PGTALLY_TEST_PORT:-5498}"
  export PGTALLY_DATA="$root/.pgdata-test"
  [ "$major" = 15 ] || PGTALLY_DATA="$root/.pgdata-test$major"
  # Preload pg_cron (Debian's, for 15) for the DBA-jobs example; not on other majors, even
  # when the run on 15 that started this one exported it.
  if [ "$major" = 15 ]; then export PGTALLY_CRON_DB=tally_cron; else unset PGTALLY_CRON_DB; fi
  bash scripts/cluster.sh restart
  export PGTALLY_TEST_URL="host=127.0.0.1 port=$PGTALLY_PORT user=postgres"
fi

if wants regress; then
  step "regress: pg_regress"
  bash scripts/regress.sh
fi

if wants integration; then
  step "integration tests"
  cargo test --test '*' "${features[@]}" -- --nocapture --test-threads 1

  step "integration: #[pg_test]s inside Postgres"
  install -d -o postgres -g postgres "$root/.pgrx-test-data$major"
  CARGO_PGRX_TEST_RUNAS=postgres CARGO_PGRX_TEST_PGDATA="$root/.pgrx-test-data$major" \
    cargo test --lib --no-default-features --features "pg$major pg_test"
fi

if wants faults; then
  step "faults: pg_dump/restore, kill -9 crash, hot standby"
  bash tests/faults.sh 2>&1 | grep -v '^NOTICE'

  if [ "$major" = 15 ]; then
    step "faults: upgrade: released 0.1.0 -> this build, ALTER EXTENSION pg_tally UPDATE"
    bash tests/upgrade.sh 2>&1 | grep -v '^NOTICE'
  fi

  step "faults: background compactor (pg_tally preloaded, its own cluster)"
  bash tests/compactor.sh 2>&1 | grep -v 'FATAL\|exited with exit code'

  step "faults: logical replication (wal_level = logical, its own cluster): publisher and subscriber"
  bash tests/logical.sh 2>&1 | grep -v '^NOTICE'
fi

if wants slow; then
  step "slow: limits: 100k groups, 12 metrics on a table (one count_distinct over 100k values), 3 years of hour buckets"
  bash tests/limits.sh

  step "slow: pg_cron DBA jobs example"
  bash tests/cron.sh

  step "slow: Django example (Django's test runner, real extension)"
  bash scripts/django-test.sh
fi


if $needs_server; then bash scripts/cluster.sh stop; fi
step "tests passed on PostgreSQL $major: ${stages[*]}"

if $run_matrix; then
  for other in ${PGTALLY_MATRIX-16 17 18}; do
    step "matrix: PostgreSQL $other"
    PGTALLY_PG="$other" PGTALLY_STATEMENTS="${PGTALLY_MATRIX_STATEMENTS:-600}" \
      PGTALLY_DIFFERENTIAL_MINUTES="${PGTALLY_MATRIX_DIFFERENTIAL_MINUTES:-2}" \
      bash "$root/scripts/test.sh" regress integration faults
  done
  step "matrix passed: ${PGTALLY_MATRIX-16 17 18}"

  # The matrix installed this build into each target; 15 comes from PyPI (tests/pg-upgrade.sh).
  upgrade_to="$(for m in 17 18; do
      case " ${PGTALLY_MATRIX-16 17 18} " in *" $m "*) printf '%s ' "$m" ;; esac; done)"
  if [ -n "$upgrade_to" ]; then
    step "pg_upgrade: PostgreSQL 15 -> ${upgrade_to% } with pending changes; exact after, no ALTER EXTENSION"
    PGTALLY_INSTALLED=1 PGTALLY_UPGRADE_TO="$upgrade_to" bash tests/pg-upgrade.sh 2>&1 | grep -v '^NOTICE'
  fi

  newest="$(for m in ${PGTALLY_MATRIX-16 17 18}; do echo "$m"; done | sort -n | tail -1)"
  if [ -n "$newest" ]; then tarball=" and the newest major's tarball ($newest)"; else tarball=""; fi
  step "packages: the .deb (dpkg -i on Debian's 15)$tarball, built, installed, used"
  PGTALLY_PACKAGE_MAJORS="15 $newest" bash tests/package.sh
fi
