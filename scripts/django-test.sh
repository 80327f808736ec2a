#!/usr/bin/env bash
# Runs the Django example's tests (examples/django) with Django's own test runner against
# the real extension. Needs a running cluster (PGTALLY_PORT) with pg_tally installed.
# Creates examples/django/.venv once (Django + psycopg from PyPI, and python/django-pg-tally
# installed editable), again when requirements.txt changes.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root/examples/django"
wanted="$(sha256sum requirements.txt | cut -d' ' -f1)"
if [ ! -x .venv/bin/python ] || [ "$(cat .venv/requirements.sha 2>/dev/null)" != "$wanted" ] \
   || ! .venv/bin/python -c "import django, psycopg, pg_tally" 2>/dev/null; then
  rm -rf .venv
  python3 -m venv .venv
  .venv/bin/pip install -q -r requirements.txt
  echo "$wanted" > .venv/requirements.sha
fi
.venv/bin/python manage.py test --noinput -v 2
