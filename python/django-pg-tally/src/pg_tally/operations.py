"""Migration operations that define pg_tally metrics and dashboards from model and field
names, reversible, shown by ``sqlmigrate`` and ``makemigrations``' descriptions.

    operations = [
        CreateMetric("revenue_today", model="shop.Order", aggregate="sum", field="amount",
                     filter=Q(status__in=["PAID", "SHIPPED"]), bucket="day",
                     bucket_field="created_at", time_zone=settings.TIME_ZONE),
        CreateDashboard("admin", metrics=["total_users", "revenue_today"],
                        view_name="admin_dashboard"),
    ]

Every value reaches the database as a query parameter; pg_tally checks the filter itself
(one immutable expression over the row's own columns, run as the table's owner)."""

from django.db import models
from django.db.migrations.operations.base import Operation
from django.db.models.sql.query import Query


class PgTallyOperation(Operation):
    reduces_to_sql = True
    reversible = True

    def state_forwards(self, app_label, state):
        # Metrics and dashboards live in the extension's catalog, not in model state.
        pass


def _model(apps, label):
    return apps.get_model(*label.split(".", 1)) if isinstance(label, str) else label


def _column(model, field):
    """The database column of ``field`` (a field name, ``user`` for a foreign key too)."""
    return model._meta.get_field(field).column


def compile_filter(model, condition, schema_editor):
    """A ``Q`` object as the SQL text of a filter over the row's own columns, by Django's own
    compiler (as ``CheckConstraint`` does: column names without a table alias, parameters
    quoted by the database driver). A lookup through a relation (``user__email``) needs a
    join, which no filter can have: Django refuses it (``FieldError``). A string is passed
    as it is: pg_tally validates it."""
    if condition is None or isinstance(condition, str):
        return condition
    if not isinstance(condition, models.Q):
        raise TypeError(f"filter must be a Q object or SQL text, not {type(condition).__name__}")
    connection = schema_editor.connection
    query = Query(model=model, alias_cols=False)
    where = query.build_where(condition)
    compiler = query.get_compiler(connection=connection)
    sql, params = where.as_sql(compiler, connection)
    return sql % tuple(schema_editor.quote_value(p) for p in params)


class CreateMetric(PgTallyOperation):
    """``tally.create_metric`` over a model: ``field``, ``group_by`` (a field name or a list
    of them) and ``bucket_field`` are field names, resolved to columns; ``expression`` is a
    SQL value expression over the columns instead of ``field``."""

    def __init__(self, name, model, aggregate="count", field=None, expression=None, filter=None,
                 group_by=None, bucket=None, bucket_field=None, time_zone="UTC"):
        if field is not None and expression is not None:
            raise ValueError("CreateMetric takes field or expression, not both")
        self.name = name
        self.model = model
        self.aggregate = aggregate
        self.field = field
        self.expression = expression
        self.filter = filter
        self.group_by = group_by
        self.bucket = bucket
        self.bucket_field = bucket_field
        self.time_zone = time_zone

    def deconstruct(self):
        kwargs = {"model": self.model}
        for key, default in [("aggregate", "count"), ("field", None), ("expression", None), ("filter", None),
                             ("group_by", None), ("bucket", None), ("bucket_field", None), ("time_zone", "UTC")]:
            if getattr(self, key) != default:
                kwargs[key] = getattr(self, key)
        return self.__class__.__name__, [self.name], kwargs

    def describe(self):
        return f"Create pg_tally metric {self.name} ({self.aggregate}) on {self.model}"

    @property
    def migration_name_fragment(self):
        return f"create_metric_{self.name}"

    def create_sql(self, model, schema_editor):
        """The statement and its parameters."""
        group_by = self.group_by
        if isinstance(group_by, (list, tuple)):
            group_by = [_column(model, g) for g in group_by]
            group_sql = "%s::text[]"
        else:
            group_by = _column(model, group_by) if group_by else None
            group_sql = "%s::text"
        column = _column(model, self.field) if self.field else self.expression
        params = [
            self.name,
            model._meta.db_table,
            self.aggregate,
            column,
            compile_filter(model, self.filter, schema_editor),
            group_by,
            self.bucket,
            _column(model, self.bucket_field) if self.bucket_field else None,
            self.time_zone,
        ]
        sql = (
            "SELECT tally.create_metric(%s, %s::regclass, %s, %s, %s, " + group_sql + ", %s, %s, %s)"
        )
        return sql, params

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = _model(to_state.apps, self.model)
        sql, params = self.create_sql(model, schema_editor)
        schema_editor.execute(sql, params)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        schema_editor.execute("SELECT tally.drop_metric(%s)", [self.name])


class DropMetric(CreateMetric):
    """``tally.drop_metric``. Reversible when given the metric's definition (the arguments
    of ``CreateMetric``); ``DropMetric("name")`` alone is not."""

    def __init__(self, name, model=None, **definition):
        super().__init__(name, model, **definition)
        self.reversible = model is not None

    def deconstruct(self):
        if self.model is None:
            return self.__class__.__name__, [self.name], {}
        return super().deconstruct()

    def describe(self):
        return f"Drop pg_tally metric {self.name}"

    @property
    def migration_name_fragment(self):
        return f"drop_metric_{self.name}"

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        CreateMetric.database_backwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if self.model is None:
            raise NotImplementedError(f"DropMetric({self.name!r}) without the definition cannot be reversed")
        CreateMetric.database_forwards(self, app_label, schema_editor, from_state, to_state)


class CreateDashboard(PgTallyOperation):
    """``tally.create_dashboard``: the metrics read together by one ``snapshot``, and with
    ``view_name`` a one-row typed view (see ``pg_tally.models.DashboardView``)."""

    def __init__(self, name, metrics, view_name=None):
        self.name = name
        self.metrics = list(metrics)
        self.view_name = view_name

    def deconstruct(self):
        kwargs = {"metrics": self.metrics}
        if self.view_name is not None:
            kwargs["view_name"] = self.view_name
        return self.__class__.__name__, [self.name], kwargs

    def describe(self):
        return f"Create pg_tally dashboard {self.name} ({len(self.metrics)} metrics)"

    @property
    def migration_name_fragment(self):
        return f"create_dashboard_{self.name}"

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        schema_editor.execute(
            "SELECT tally.create_dashboard(%s, %s::text[], %s)", [self.name, self.metrics, self.view_name]
        )

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        schema_editor.execute("SELECT tally.drop_dashboard(%s)", [self.name])


class DropDashboard(CreateDashboard):
    """``tally.drop_dashboard``; reversible when given the metrics (and view name)."""

    def __init__(self, name, metrics=None, view_name=None):
        super().__init__(name, metrics or [], view_name)
        self.reversible = metrics is not None

    def describe(self):
        return f"Drop pg_tally dashboard {self.name}"

    @property
    def migration_name_fragment(self):
        return f"drop_dashboard_{self.name}"

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        CreateDashboard.database_backwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if not self.reversible:
            raise NotImplementedError(f"DropDashboard({self.name!r}) without its metrics cannot be reversed")
        CreateDashboard.database_forwards(self, app_label, schema_editor, from_state, to_state)
