"""The dashboard's figures as pg_tally metrics, and the dashboard with its typed view, declared
with django-pg-tally's operations (reversible; `manage.py sqlmigrate shop 0002` shows the SQL)."""
from django.contrib.postgres.operations import CreateExtension
from django.db import migrations
from django.db.models import Q

from pg_tally.operations import CreateDashboard, CreateMetric

FIGURES = ["total_users", "active_users", "total_orders", "orders_per_status", "orders_today", "revenue_today"]


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [
        CreateExtension("pg_tally"),
        CreateMetric("total_users", model="shop.User"),
        CreateMetric("active_users", model="shop.User", filter=Q(is_active=True)),
        CreateMetric("total_orders", model="shop.Order"),
        CreateMetric("orders_per_status", model="shop.Order", group_by="status"),
        CreateMetric("orders_today", model="shop.Order", bucket="day", bucket_field="created_at"),
        CreateMetric("revenue_today", model="shop.Order", aggregate="sum", field="amount",
                     filter=Q(status__in=["PAID", "SHIPPED"]), bucket="day", bucket_field="created_at"),
        CreateDashboard("admin", metrics=FIGURES, view_name="shop_admin_dashboard"),
    ]
