#!/usr/bin/env bash
# Local PostgreSQL cluster for pg_tally's demo, tests and benchmark (15 unless PGTALLY_PG_CONFIG).
#   scripts/cluster.sh start|stop|restart|status|psql [args]
# Runs as the `postgres` OS user (initdb/postgres refuse root), listens on 127.0.0.1 only,
# keeps its data in .pgdata/ inside the project (git-ignored). PGTALLY_PORT picks the port.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# PGTALLY_PG_CONFIG picks the PostgreSQL installation (default: Debian's 15; scripts/postgres.sh
# fetches 16, 17, 18). A relocatable tree's server loads that tree's libraries (its dblink
# needs its own libpq).
pg_config="${PGTALLY_PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}"
bindir="$("$pg_config" --bindir)"
library_path=""
[ "$pg_config" = /usr/lib/postgresql/15/bin/pg_config ] || library_path="$("$pg_config" --libdir)"
port="${PGTALLY_PORT:-5499}"
data="${PGTALLY_DATA:-$root/.pgdata}"
log="$data.log"

as_postgres() {
  if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi
}

# PGTALLY_CRON_DB=name preloads pg_cron and makes it schedule jobs in that database.
# PGTALLY_COMPACTOR_DBS=a,b preloads pg_tally: its background compactor folds in those databases.
extra=""
preload=""
if [ -n "${PGTALLY_CRON_DB:-}" ]; then
  preload="pg_cron"
  extra="-c cron.database_name=$PGTALLY_CRON_DB -c cron.host=127.0.0.1"
fi
if [ -n "${PGTALLY_COMPACTOR_DBS:-}" ]; then
  preload="${preload:+$preload,}pg_tally"
  extra="$extra -c tally.compactor_databases=$PGTALLY_COMPACTOR_DBS"
fi
[ -z "$preload" ] || extra="-c shared_preload_libraries=$preload $extra"
# PGTALLY_SERVER_OPTIONS adds server settings (tests/logical.sh: -c wal_level=logical).
extra="$extra ${PGTALLY_SERVER_OPTIONS:-}"

start() {
  if [ ! -s "$data/PG_VERSION" ]; then
    echo "[cluster] initdb in $data"
    install -d -o postgres -g postgres "$data"
    as_postgres "$bindir/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  if as_postgres "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    echo "[cluster] already running on 127.0.0.1:$port"
    return
  fi
  touch "$log" && chown postgres "$log"
  # A server must not inherit RUST_BACKTRACE: pgrx would append Rust backtraces to the
  # DETAIL of every error users see.
  env -u RUST_BACKTRACE -u RUST_LIB_BACKTRACE ${library_path:+LD_LIBRARY_PATH="$library_path"} \
    runuser -u postgres -- "$bindir/pg_ctl" -D "$data" -l "$log" -w -t 60 start \
    -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$data -c max_connections=100 -c shared_buffers=256MB $extra" >/dev/null
  echo "[cluster] running on 127.0.0.1:$port (data $data, log $log)"
}

stop() {
  if [ -s "$data/PG_VERSION" ] && as_postgres "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    as_postgres "$bindir/pg_ctl" -D "$data" -m fast -w stop >/dev/null
    echo "[cluster] stopped"
  else
    echo "[cluster] not running"
  fi
}

case "${1:-status}" in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  status) as_postgres "$bindir/pg_ctl" -D "$data" status || true ;;
  psql) shift; exec psql -h 127.0.0.1 -p "$port" -U postgres "$@" ;;
  *) echo "usage: $0 start|stop|restart|status|psql [args]" >&2; exit 2 ;;
esac
