"""Revenue per day, for the dashboard page's line chart (tally.series over the last 30 days)."""
from django.db import migrations
from django.db.models import Q

from pg_tally.operations import CreateMetric


class Migration(migrations.Migration):
    dependencies = [("shop", "0002_pg_tally")]
    operations = [
        CreateMetric("revenue_by_day", model="shop.Order", aggregate="sum", field="amount",
                     filter=Q(status__in=["PAID", "SHIPPED"]), bucket="day", bucket_field="created_at"),
    ]
