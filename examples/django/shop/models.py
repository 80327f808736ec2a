from django.db import models

from pg_tally.models import DashboardView

STATUSES = ["PENDING", "PAID", "SHIPPED", "CANCELLED", "REFUNDED"]


class User(models.Model):
    email = models.EmailField()
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "users"


class Order(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE)
    status = models.CharField(max_length=16, choices=[(s, s) for s in STATUSES])
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "orders"


class AdminDashboard(DashboardView):
    """Unmanaged model over the dashboard's typed view: one row, always current."""

    total_users = models.DecimalField(max_digits=20, decimal_places=2)
    active_users = models.DecimalField(max_digits=20, decimal_places=2)
    total_orders = models.DecimalField(max_digits=20, decimal_places=2)
    orders_per_status = models.JSONField()
    orders_today = models.DecimalField(max_digits=20, decimal_places=2)
    revenue_today = models.DecimalField(max_digits=20, decimal_places=2)

    class Meta(DashboardView.Meta):
        db_table = "shop_admin_dashboard"
