"""The dashboard's figures as pg_tally metrics, and the dashboard with its typed view."""
from django.db import migrations

FORWARD = """
CREATE EXTENSION IF NOT EXISTS pg_tally;
SELECT tally.create_metric('total_users', 'users');
SELECT tally.create_metric('active_users', 'users', filter => 'is_active');
SELECT tally.create_metric('total_orders', 'orders');
SELECT tally.create_metric('orders_per_status', 'orders', group_by => 'status');
SELECT tally.create_metric('orders_today', 'orders', bucket => 'day', bucket_column => 'created_at');
SELECT tally.create_metric('revenue_today', 'orders', 'sum', 'amount',
                           filter => $$status IN ('PAID', 'SHIPPED')$$,
                           bucket => 'day', bucket_column => 'created_at');
SELECT tally.create_dashboard('admin',
       ARRAY['total_users', 'active_users', 'total_orders', 'orders_per_status', 'orders_today', 'revenue_today'],
       view_name => 'shop_admin_dashboard');
"""

BACKWARD = """
SELECT tally.drop_dashboard('admin');
SELECT tally.drop_metric(name) FROM tally.metrics WHERE source IN ('users'::regclass, 'orders'::regclass);
"""


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
