#!/usr/bin/env bash
# Builds the packages (scripts/package.sh) and installs each the way README says, then uses
# it on a fresh cluster: CREATE EXTENSION, a metric, writes, reads that equal the live
# aggregate, verify. For the majors of PGTALLY_PACKAGE_MAJORS (default "15 16 17 18"):
#   - 15: the .deb, with `dpkg -i` onto Debian's PostgreSQL 15, after removing the files a
#     `cargo pgrx install` left there (so only the package can supply them); `dpkg -r` at the
#     end (or on failure) takes them away again, and this build is installed there as before;
#   - 16, 17, 18: the tarball, unpacked with README's one command into the PyPI tree's
#     `pg_config --pkglibdir` and `--sharedir`, after removing the installed files.
# Clusters in .pgdata-package<major> on PGTALLY_PACKAGE_PORT (default 5484).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export PGRX_HOME="${PGRX_HOME:-$HOME/.pgrx}"
# Plain clusters: nothing preloaded (scripts/test.sh's run on 15 exports pg_cron's database,
# which PyPI's servers do not have).
unset PGTALLY_CRON_DB PGTALLY_COMPACTOR_DBS PGTALLY_SERVER_OPTIONS
port="${PGTALLY_PACKAGE_PORT:-5484}"
version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)"
majors=(${PGTALLY_PACKAGE_MAJORS-15 16 17 18})
fail() { echo "PACKAGE FAILED: $*" >&2; exit 1; }

bash scripts/package.sh "${majors[@]}"

# On any exit: no test cluster left running, no package left installed, and Debian's 15 with
# this build installed as the other stages left it.
cleanup() {
  bash scripts/cluster.sh stop >/dev/null 2>&1 || true
  if dpkg -s postgresql-15-pg-tally >/dev/null 2>&1; then dpkg -r postgresql-15-pg-tally >/dev/null || true; fi
  case " ${majors[*]} " in *" 15 "*)
    cargo pgrx install --pg-config /usr/lib/postgresql/15/bin/pg_config >/dev/null 2>&1 \
      || echo "[package] could not reinstall this build into PostgreSQL 15" >&2 ;;
  esac
}
trap cleanup EXIT

# The files an installation of pg_tally consists of, under a PostgreSQL's directories.
remove_installed() {  # pg_config
  rm -f "$("$1" --pkglibdir)/pg_tally.so" "$("$1" --sharedir)"/extension/pg_tally*
}

use_it() {  # major, pg_config
  local data="$root/.pgdata-package$1"
  local q=(psql -X -qtA -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres)
  export PGTALLY_PG_CONFIG="$2" PGTALLY_PORT="$port" PGTALLY_DATA="$data"
  bash scripts/cluster.sh stop >/dev/null 2>&1 || true
  rm -rf "$data" "$data.log"
  bash scripts/cluster.sh start >/dev/null
  "${q[@]}" -c "CREATE EXTENSION pg_tally" \
    -c "CREATE TABLE tickets (id serial PRIMARY KEY, state text NOT NULL, hours numeric)" \
    -c "SELECT tally.create_metric('open_tickets', 'tickets', 'count', filter => \$\$state = 'open'\$\$)" \
    -c "SELECT tally.create_metric('hours_per_state', 'tickets', 'sum', 'hours', group_by => 'state')" \
    -c "INSERT INTO tickets (state, hours) SELECT (ARRAY['open', 'closed'])[1 + i % 2], i FROM generate_series(1, 500) i" \
    -c "UPDATE tickets SET state = 'closed' WHERE id % 5 = 0" -c "DELETE FROM tickets WHERE id % 7 = 0" >/dev/null
  [ "$("${q[@]}" -c "SELECT extversion FROM pg_extension WHERE extname = 'pg_tally'")" = "$version" ] \
    || fail "$1: the installed extension is not $version"
  [ "$("${q[@]}" -c "SELECT tally.value('open_tickets') = (SELECT count(*) FROM tickets WHERE state = 'open')
                       AND tally.value('open_tickets') > 0
                       AND (SELECT string_agg(group_key || '=' || value, ',' ORDER BY group_key) FROM tally.groups('hours_per_state'))
                         = (SELECT string_agg(state || '=' || total, ',' ORDER BY state)
                              FROM (SELECT state, sum(hours) AS total FROM tickets GROUP BY state) t)")" = t ] \
    || fail "$1: a figure differs from its live aggregate"
  [ "$("${q[@]}" -c "SET client_min_messages = warning; SELECT count(*) FROM tally.verify()")" = 0 ] \
    || fail "$1: verify reports drift"
  bash scripts/cluster.sh stop >/dev/null
  rm -rf "$data" "$data.log"
  echo "[package] PostgreSQL $1: installed from the package, figures exact"
}

for major in "${majors[@]}"; do
  pg_config="$(bash scripts/postgres.sh "$major")"
  if [ "$major" = 15 ]; then
    deb="dist/postgresql-15-pg-tally_${version}_amd64.deb"
    dpkg -r postgresql-15-pg-tally >/dev/null 2>&1 || true
    remove_installed "$pg_config"
    dpkg -i "$deb" >/dev/null
    dpkg -S /usr/lib/postgresql/15/lib/pg_tally.so >/dev/null || fail "the package does not own pg_tally.so"
    use_it 15 "$pg_config"
    dpkg -r postgresql-15-pg-tally >/dev/null
    [ ! -e /usr/lib/postgresql/15/lib/pg_tally.so ] || fail "dpkg -r left pg_tally.so behind"
    echo "[package] $deb: dpkg -i, used, dpkg -r"
  else
    tarball="$root/dist/pg_tally-$version-pg$major-x86_64-linux-gnu.tar.gz"
    remove_installed "$pg_config"
    # README's commands, with this tree's pg_config.
    tar --no-overwrite-dir -xzf "$tarball" -C "$("$pg_config" --pkglibdir)" --strip-components=1 pkglibdir
    tar --no-overwrite-dir -xzf "$tarball" -C "$("$pg_config" --sharedir)" --strip-components=1 sharedir
    use_it "$major" "$pg_config"
  fi
done
echo "[package] all packages installed and used"
