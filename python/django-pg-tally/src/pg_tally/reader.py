"""Reads of pg_tally figures as Python values: numbers as int or Decimal (exact, never
float), timestamps as aware datetimes. Each call is one query."""

import datetime
import json
from decimal import Decimal

from django.db import connections


def _decoded(text):
    return json.loads(text, parse_float=Decimal, parse_int=int)


def snapshot(dashboard, using="default"):
    """The dashboard's figures in one query: ``{"as_of": datetime, "total_users": 1042,
    "orders_per_status": {"PAID": 17, ...}, ...}``. A grouped metric is a dict (nested for
    several group columns); a NULL group is under ``"null"``."""
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT tally.snapshot(%s)::text", [dashboard])
        figures = _decoded(cursor.fetchone()[0])
    figures["as_of"] = datetime.datetime.fromisoformat(figures["as_of"])
    return figures


# The figure types of pg_tally 0.14.0 a typed read may name (``as_type``), as SQL: a fixed
# vocabulary, never a caller's text in the statement. An enum's figure is read as "text"
# (its label).
FIGURE_TYPES = {
    "timestamptz": "pg_catalog.timestamptz",
    "timestamp": "pg_catalog.timestamp",
    "date": "pg_catalog.date",
    "time": "pg_catalog.time",
    "interval": "pg_catalog.interval",
    "uuid": "pg_catalog.uuid",
    "boolean": "pg_catalog.bool",
    "text": "pg_catalog.text",
    "inet": "pg_catalog.inet",
    "cidr": "pg_catalog.cidr",
    "macaddr": "pg_catalog.macaddr",
    "macaddr8": "pg_catalog.macaddr8",
    "bytea": "pg_catalog.bytea",
    "varbit": "pg_catalog.varbit",
    "float4": "pg_catalog.float4",
    "float8": "pg_catalog.float8",
    "jsonb": "pg_catalog.jsonb",
}


def _figure_type(as_type):
    try:
        return FIGURE_TYPES[as_type]
    except KeyError:
        raise ValueError(f"as_type must be one of {', '.join(sorted(FIGURE_TYPES))}, not {as_type!r}") from None


def value(metric, as_type=None, using="default"):
    """One metric's figure (over all groups; the current bucket of a bucketed metric), as
    int when it is whole, else Decimal; None when there is none (avg, min, max of nothing).
    A figure of another type (pg_tally 0.12.0: ``max`` of a DateTimeField, ``avg`` of a
    DurationField) is read with ``as_type``, such as ``"timestamptz"`` (an aware datetime)
    or ``"interval"`` (a timedelta, with psycopg's months of 30 days)."""
    with connections[using].cursor() as cursor:
        if as_type is None:
            cursor.execute("SELECT tally.value(%s)", [metric])
            return _number(cursor.fetchone()[0])
        cursor.execute(f"SELECT tally.value(%s, NULL::{_figure_type(as_type)}){_as_text(as_type)}", [metric])
        return _typed(as_type, cursor.fetchone()[0])


def series(metric, since, until=None, as_type=None, using="default"):
    """Figures per bucket (and group) of a bucketed metric from the bucket holding ``since``
    up to before ``until`` (default: now): a list of ``(bucket_start, group_key, value)``
    in bucket order. ``group_key`` is None for an ungrouped metric; for several group
    columns it is the JSON array text (``'["PAID", "web"]'``). ``as_type`` as for ``value``."""
    with connections[using].cursor() as cursor:
        if as_type is not None:
            cursor.execute(
                f"SELECT bucket_start, group_key, value{_as_text(as_type)} "
                f"FROM tally.series(%s, %s, coalesce(%s, now()), NULL::{_figure_type(as_type)})",
                [metric, since, until],
            )
            return [(start, key, _typed(as_type, figure)) for start, key, figure in cursor.fetchall()]
        cursor.execute(
            "SELECT bucket_start, group_key, value FROM tally.series(%s, %s, coalesce(%s, now()))",
            [metric, since, until],
        )
        return [(start, key, _number(figure)) for start, key, figure in cursor.fetchall()]


def _as_text(as_type):
    """A jsonb figure is read as its text (``_typed`` decodes it): psycopg under Django
    leaves jsonb undecoded, and its numbers stay exact this way."""
    return "::pg_catalog.text" if as_type == "jsonb" else ""


def _typed(as_type, figure):
    """A typed figure as Python: a jsonb's JSON decoded as the snapshot's is (int, Decimal),
    any other as psycopg gives it."""
    if as_type == "jsonb" and figure is not None:
        return _decoded(figure)
    return figure


def _number(figure):
    """A figure as the snapshot's JSON gives it: int when written without a fraction
    (counts), else the Decimal itself (``Decimal("25.00")`` keeps its scale)."""
    if figure is None:
        return None
    if figure.is_finite() and figure.as_tuple().exponent >= 0:
        return int(figure)
    return figure
