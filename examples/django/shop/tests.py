"""Django's test runner against the real extension: the dashboard is one query and its
figures follow every kind of ORM write (save, bulk_create, queryset update and delete)."""
import datetime
from decimal import Decimal

from django.db.models import Count, Sum
from django.test import TestCase, TransactionTestCase
from django.utils import timezone

from shop.models import STATUSES, AdminDashboard, Order, User
from shop.views import read_snapshot


def live_figures():
    today = timezone.now().astimezone(datetime.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    todays = Order.objects.filter(created_at__gte=today)
    return {
        "total_users": User.objects.count(),
        "active_users": User.objects.filter(is_active=True).count(),
        "total_orders": Order.objects.count(),
        "orders_per_status": {r["status"]: r["n"] for r in Order.objects.values("status").annotate(n=Count("id"))},
        "orders_today": todays.count(),
        "revenue_today": todays.filter(status__in=["PAID", "SHIPPED"]).aggregate(s=Sum("amount"))["s"] or Decimal(0),
    }


def snapshot_figures():
    snap = read_snapshot()
    snap.pop("as_of")
    return snap


class DashboardTests(TestCase):
    def setUp(self):
        users = User.objects.bulk_create([User(email=f"u{i}@example.com", is_active=i % 3 > 0) for i in range(30)])
        Order.objects.bulk_create(
            [Order(user=users[i % 30], status=STATUSES[i % 5], amount=Decimal(i) + Decimal("0.25")) for i in range(200)]
        )

    def test_dashboard_view_runs_one_query(self):
        with self.assertNumQueries(1):
            response = self.client.get("/dashboard/")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["total_orders"], 200)

    def test_figures_follow_orm_writes(self):
        self.assertEqual(snapshot_figures(), live_figures())
        user = User.objects.create(email="new@example.com")
        Order.objects.create(user=user, status="PAID", amount=Decimal("19.99"))
        Order.objects.bulk_create([Order(user=user, status="SHIPPED", amount=Decimal("5.10")) for _ in range(25)])
        self.assertEqual(snapshot_figures(), live_figures())
        Order.objects.filter(status="PENDING").update(status="PAID")
        User.objects.filter(id__lte=user.id - 5).update(is_active=False)
        self.assertEqual(snapshot_figures(), live_figures())
        Order.objects.filter(status="CANCELLED").delete()
        User.objects.filter(order__isnull=True).delete()
        Order.objects.filter(amount__gt=100).delete()
        self.assertEqual(snapshot_figures(), live_figures())

    def test_unmanaged_model_over_the_typed_view(self):
        Order.objects.filter(status="REFUNDED").delete()
        row = AdminDashboard.objects.get()
        live = live_figures()
        self.assertEqual(row.total_orders, live["total_orders"])
        self.assertEqual(row.active_users, live["active_users"])
        self.assertEqual(row.orders_per_status, live["orders_per_status"])
        self.assertEqual(row.revenue_today, live["revenue_today"])
        with self.assertNumQueries(1):
            self.client.get("/dashboard/typed/")


class FlushTests(TransactionTestCase):
    """TransactionTestCase flushes tables with TRUNCATE between tests: counters follow."""

    def test_truncate_between_tests_keeps_counters_exact(self):
        user = User.objects.create(email="a@example.com")
        Order.objects.create(user=user, status="PAID", amount=Decimal("1.00"))
        self.assertEqual(snapshot_figures(), live_figures())
