#!/usr/bin/env bash
# Runs the Django example's tests (examples/django) with Django's own test runner against
# the real extension. Needs a running cluster (PGTALLY_PORT) with pg_tally installed.
# Creates examples/django/.venv once (Django + psycopg from PyPI).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root/examples/django"
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c "import django, psycopg" 2>/dev/null; then
  python3 -m venv .venv
  .venv/bin/pip install -q -r requirements.txt
fi
.venv/bin/python manage.py test --noinput -v 2
