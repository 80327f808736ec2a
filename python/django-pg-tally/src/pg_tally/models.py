"""A base for unmanaged models over a dashboard's typed view (tally.create_dashboard with a
view_name): one row, always current, read in one query."""

from django.db import models


class DashboardView(models.Model):
    """Subclass it, name the view in ``Meta.db_table`` and declare one field per metric:
    ``DecimalField`` for an ungrouped metric, ``JSONField`` for a grouped one.

        class AdminDashboard(DashboardView):
            total_users = models.DecimalField(max_digits=20, decimal_places=0)
            orders_per_status = models.JSONField()

            class Meta(DashboardView.Meta):
                db_table = "admin_dashboard"

    ``AdminDashboard.objects.get()`` reads it."""

    id = models.IntegerField(primary_key=True)
    as_of = models.DateTimeField()

    class Meta:
        abstract = True
        managed = False
