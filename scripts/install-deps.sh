#!/usr/bin/env bash
# Installs what pg_tally needs to build and test, skipping anything already present.
# Safe to rerun: every step checks first.
set -euo pipefail

PGRX_VERSION="0.18.1"
# Validates META.json against the PGXN meta spec (scripts/check-meta.sh, in the lint stage).
PGXN_META_VERSION="0.7.0"
# chromium and its driver: the Django package's page is tested in a real browser (Selenium).
APT_PACKAGES=(build-essential clang libclang-dev postgresql-15 postgresql-server-dev-15 postgresql-15-cron sudo
              chromium chromium-driver)

log() { printf '[setup] %s\n' "$*"; }

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing apt packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
else
  log "apt packages present"
fi

if cargo pgrx --version 2>/dev/null | grep -qx "cargo-pgrx ${PGRX_VERSION}"; then
  log "cargo-pgrx ${PGRX_VERSION} present"
else
  log "installing cargo-pgrx ${PGRX_VERSION} (takes a few minutes once)"
  cargo install cargo-pgrx --version "=${PGRX_VERSION}" --locked
fi
if pgxn_meta --version 2>/dev/null | grep -qx "pgxn_meta ${PGXN_META_VERSION}"; then
  log "pgxn_meta ${PGXN_META_VERSION} present"
else
  log "installing pgxn_meta ${PGXN_META_VERSION} (the PGXN META.json validator, ~1 min once)"
  cargo install pgxn_meta --version "=${PGXN_META_VERSION}" --locked
fi

# cargo-pgrx reads only $PGRX_HOME/config.toml; the project's pgrx-config.toml is the source of
# truth for 15's line. The other majors' lines (scripts/postgres.sh) stay: a run on 15 must not
# take 16-18 away from another run that is building for them.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PGRX_HOME="${PGRX_HOME:-$HOME/.pgrx}"
mkdir -p "$PGRX_HOME"
config="$PGRX_HOME/config.toml"
grep -qx '\[configs\]' "$config" 2>/dev/null || printf '[configs]\n' > "$config"
pg15_line="$(grep '^pg15 = ' "$root/pgrx-config.toml")"
if ! grep -qxF "$pg15_line" "$config"; then
  sed -i '/^pg15 = /d' "$config"
  printf '%s\n' "$pg15_line" >> "$config"
  log "wrote 15's pg_config into $config"
fi
# A line whose pg_config is gone (a checkout since deleted wrote it) fails every build: pgrx's
# build script checks each line. Such lines go; scripts/postgres.sh writes them again.
while IFS= read -r line; do
  path="${line#*= \"}"; path="${path%\"}"
  if [ ! -x "$path" ]; then
    sed -i "\\|^${line%% =*} = |d" "$config"
    log "dropped ${line%% =*} from $config: $path is gone"
  fi
done < <(grep -E '^pg[0-9]+ = "' "$config")
