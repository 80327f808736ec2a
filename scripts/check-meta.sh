#!/usr/bin/env bash
# Fails when META.json (the PGXN distribution metadata) does not validate against the PGXN meta
# spec (pgxn_meta, installed by scripts/install-deps.sh), or names another version than
# Cargo.toml's: the release checklist in CONTRIBUTING.md bumps both.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
pgxn_meta META.json
python3 - <<'PY'
import json, re, sys
cargo = re.search(r'^version = "(.*)"', open("Cargo.toml").read(), re.M).group(1)
meta = json.load(open("META.json"))
found = {"version": meta["version"], **{f"provides.{k}.version": v["version"] for k, v in meta["provides"].items()}}
wrong = {k: v for k, v in found.items() if v != cargo}
if wrong:
    sys.exit(f"META.json: {wrong} differ from Cargo.toml's version {cargo}")
print(f"check-meta: META.json is {cargo}, like Cargo.toml")
PY
