"""System checks (tagged ``database``: run by ``migrate`` and ``check --database default``)."""

from django.core.checks import Error, Tags, Warning, register
from django.db import connections

import pg_tally


def _version_tuple(text):
    return tuple(int(part) for part in text.split("."))


@register(Tags.database)
def check_extension(app_configs=None, databases=None, **kwargs):
    messages = []
    for alias in databases or []:
        connection = connections[alias]
        if connection.vendor != "postgresql":
            continue
        with connection.cursor() as cursor:
            cursor.execute("SELECT extversion FROM pg_extension WHERE extname = 'pg_tally'")
            row = cursor.fetchone()
        if row is None:
            messages.append(
                Error(
                    f"The pg_tally extension is not installed in database '{alias}'.",
                    hint="A superuser runs CREATE EXTENSION pg_tally; in that database "
                    "(or a migration with django.contrib.postgres.operations.CreateExtension('pg_tally')).",
                    id="pg_tally.E001",
                )
            )
        elif _version_tuple(row[0]) < _version_tuple(pg_tally.EXTENSION_VERSION):
            messages.append(
                Warning(
                    f"Database '{alias}' has pg_tally {row[0]}; django-pg-tally "
                    f"{pg_tally.EXTENSION_VERSION} expects {pg_tally.EXTENSION_VERSION} or later.",
                    hint="Install the newer extension package, then run ALTER EXTENSION pg_tally UPDATE; in that database.",
                    id="pg_tally.W001",
                )
            )
    return messages
