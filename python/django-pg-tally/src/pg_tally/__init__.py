"""pg_tally for Django: migration operations that define metrics and dashboards, and readers
that return a dashboard's figures as Python values in one query.

    from pg_tally import snapshot, series, value
    from pg_tally.operations import CreateMetric, CreateDashboard
"""

from pg_tally.reader import series, snapshot, value

#: The pg_tally extension version this package is written for (its system check warns
#: when the database has an older one).
EXTENSION_VERSION = "0.24.0"

__all__ = ["EXTENSION_VERSION", "series", "snapshot", "value"]
