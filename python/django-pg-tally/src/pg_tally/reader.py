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


def value(metric, using="default"):
    """One metric's figure (over all groups; the current bucket of a bucketed metric), as
    int when it is whole, else Decimal; None when there is none (avg, min, max of nothing)."""
    with connections[using].cursor() as cursor:
        cursor.execute("SELECT tally.value(%s)", [metric])
        return _number(cursor.fetchone()[0])


def series(metric, since, until=None, using="default"):
    """Figures per bucket (and group) of a bucketed metric from the bucket holding ``since``
    up to before ``until`` (default: now): a list of ``(bucket_start, group_key, value)``
    in bucket order. ``group_key`` is None for an ungrouped metric; for several group
    columns it is the JSON array text (``'["PAID", "web"]'``)."""
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT bucket_start, group_key, value FROM tally.series(%s, %s, coalesce(%s, now()))",
            [metric, since, until],
        )
        return [(start, key, _number(figure)) for start, key, figure in cursor.fetchall()]


def _number(figure):
    """A figure as the snapshot's JSON gives it: int when written without a fraction
    (counts), else the Decimal itself (``Decimal("25.00")`` keeps its scale)."""
    if figure is None:
        return None
    if figure.is_finite() and figure.as_tuple().exponent >= 0:
        return int(figure)
    return figure
