"""Django's test runner against the real extension: the dashboard is one query and its
figures follow every kind of ORM write (save, bulk_create, queryset update and delete)."""
import datetime
import os
from decimal import Decimal
from pathlib import Path

from django.test import LiveServerTestCase

from django.db.models import Count, Sum
from django.db.models.functions import TruncDay
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


class PackageTests(TestCase):
    """django-pg-tally (python/django-pg-tally): its operations, readers and check."""

    def setUp(self):
        users = User.objects.bulk_create([User(email=f"p{i}@example.com", is_active=i % 2 == 0) for i in range(6)])
        Order.objects.bulk_create(
            [Order(user=users[i % 6], status=STATUSES[i % 3], amount=Decimal(i) + Decimal("0.50")) for i in range(30)]
        )

    def run_operation(self, operation, backwards=False):
        from django.apps import apps
        from django.db import connection
        from django.db.migrations.state import ProjectState

        state = ProjectState.from_apps(apps)
        with connection.schema_editor() as editor:
            if backwards:
                operation.database_backwards("shop", editor, state, state)
            else:
                operation.database_forwards("shop", editor, state, state)

    def metric_names(self):
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT name FROM tally.metrics ORDER BY name")
            return [row[0] for row in cursor.fetchall()]

    def test_create_metric_resolves_fields_and_compiles_q_filters(self):
        from django.db import connection
        from django.db.models import Q

        import pg_tally
        from pg_tally.operations import CreateMetric

        operation = CreateMetric("paid_amount_by_user", model="shop.Order", aggregate="sum", field="amount",
                                 filter=Q(status="PAID") & ~Q(amount__lt=3), group_by="user")
        self.run_operation(operation)
        with connection.cursor() as cursor:
            cursor.execute("SELECT filter, group_by FROM tally.metrics WHERE name = 'paid_amount_by_user'")
            stored_filter, group_by = cursor.fetchone()
        self.assertEqual(group_by, "user_id")
        self.assertIn("'PAID'", stored_filter)
        live = Order.objects.filter(status="PAID").exclude(amount__lt=3).aggregate(s=Sum("amount"))["s"]
        self.assertEqual(pg_tally.value("paid_amount_by_user"), live)
        self.run_operation(operation, backwards=True)
        self.assertNotIn("paid_amount_by_user", self.metric_names())

    def test_several_group_fields_nest_in_the_snapshot(self):
        import pg_tally
        from pg_tally.operations import CreateDashboard, CreateMetric

        self.run_operation(CreateMetric("orders_by_status_user", model="shop.Order", group_by=["status", "user"]))
        self.run_operation(CreateDashboard("nested", metrics=["orders_by_status_user"]))
        nested = pg_tally.snapshot("nested")["orders_by_status_user"]
        live = {}
        for row in Order.objects.values("status", "user_id").annotate(n=Count("id")):
            live.setdefault(row["status"], {})[str(row["user_id"])] = row["n"]
        self.assertEqual(nested, live)

    def test_group_by_a_datetime_field_keys_iso_8601_in_utc(self):
        import pg_tally
        from pg_tally.operations import CreateDashboard, CreateMetric

        # 0.16.0: a DateTimeField (timestamptz) is keyed by its ISO 8601 text in UTC, whatever
        # the session's TimeZone (a row written and the snapshot read in Tokyo here): Python
        # reads the keys back with fromisoformat.
        self.run_operation(CreateMetric("amount_by_created_at", model="shop.Order", aggregate="sum",
                                        field="amount", group_by="created_at"))
        self.run_operation(CreateDashboard("by_instant", metrics=["amount_by_created_at"]))
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SET TIME ZONE 'Asia/Tokyo'")
        try:
            Order.objects.create(user=User.objects.first(), status="PAID", amount=Decimal("7.25"))
            keyed = pg_tally.snapshot("by_instant")["amount_by_created_at"]
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SET TIME ZONE 'UTC'")
        figures = {datetime.datetime.fromisoformat(key): value for key, value in keyed.items()}
        live = {row["created_at"]: row["s"] for row in Order.objects.values("created_at").annotate(s=Sum("amount"))}
        self.assertEqual(figures, live)
        self.assertTrue(all(key.endswith("+00:00") for key in keyed))

    def test_a_filter_through_a_relation_is_refused(self):
        from django.core.exceptions import FieldError
        from django.db.models import Q

        from pg_tally.operations import CreateMetric

        with self.assertRaises(FieldError):
            self.run_operation(CreateMetric("by_email", model="shop.Order", filter=Q(user__email="p1@example.com")))
        self.assertNotIn("by_email", self.metric_names())

    def test_drop_metric_is_reversible_with_its_definition(self):
        import pg_tally
        from pg_tally.operations import CreateMetric, DropMetric

        self.run_operation(CreateMetric("big_orders", model="shop.Order", filter="amount > 10"))
        drop = DropMetric("big_orders", model="shop.Order", filter="amount > 10")
        self.assertTrue(drop.reversible)
        self.assertFalse(DropMetric("big_orders").reversible)
        self.run_operation(drop)
        self.assertNotIn("big_orders", self.metric_names())
        self.run_operation(drop, backwards=True)
        self.assertEqual(pg_tally.value("big_orders"), Order.objects.filter(amount__gt=10).count())

    def test_readers_return_python_types(self):
        import pg_tally

        snap = pg_tally.snapshot("admin")
        self.assertIsInstance(snap["as_of"], datetime.datetime)
        self.assertIsNotNone(snap["as_of"].tzinfo)
        self.assertIsInstance(snap["total_orders"], int)
        self.assertIsInstance(snap["revenue_today"], Decimal)
        self.assertEqual(pg_tally.value("total_orders"), Order.objects.count())
        rows = pg_tally.series("orders_today", timezone.now() - datetime.timedelta(days=2))
        self.assertEqual(sum(n for _, _, n in rows), Order.objects.count())
        self.assertTrue(all(isinstance(start, datetime.datetime) and key is None for start, key, _ in rows))

    def test_typed_figures_read_as_python_types(self):
        import pg_tally
        from django.db.models import Max, Min
        from pg_tally.operations import CreateMetric

        self.run_operation(CreateMetric("last_order_at", model="shop.Order", aggregate="max", field="created_at"))
        self.run_operation(CreateMetric("first_status", model="shop.Order", aggregate="min", field="status"))
        last = pg_tally.value("last_order_at", as_type="timestamptz")
        self.assertIsInstance(last, datetime.datetime)
        self.assertEqual(last, Order.objects.aggregate(m=Max("created_at"))["m"])
        self.assertEqual(pg_tally.value("first_status", as_type="text"), Order.objects.aggregate(m=Min("status"))["m"])
        self.run_operation(CreateMetric("largest_amount_float", model="shop.Order", aggregate="max",
                                        expression="amount::float8"))
        largest = pg_tally.value("largest_amount_float", as_type="float8")
        self.assertIsInstance(largest, float)
        self.assertEqual(largest, float(Order.objects.aggregate(m=Max("amount"))["m"]))
        self.run_operation(CreateMetric("largest_status_doc", model="shop.Order", aggregate="max",
                                        expression="""('{"status": "' || status || '"}')::jsonb"""))
        self.assertEqual(pg_tally.value("largest_status_doc", as_type="jsonb"),
                         {"status": Order.objects.aggregate(m=Max("status"))["m"]})
        self.run_operation(CreateMetric("largest_amount_doc", model="shop.Order", aggregate="max",
                                        expression="""('{"amount": ' || amount::text || '}')::jsonb"""))
        self.assertEqual(pg_tally.value("largest_amount_doc", as_type="jsonb"),
                         {"amount": Order.objects.aggregate(m=Max("amount"))["m"]})
        self.run_operation(CreateMetric("status_sets", model="shop.Order", aggregate="count_distinct",
                                        expression="ARRAY[status]"))
        self.assertEqual(pg_tally.value("status_sets"), Order.objects.values("status").distinct().count())
        with self.assertRaises(ValueError):
            pg_tally.value("last_order_at", as_type="timestamptz; DROP TABLE orders")

    def test_figures_in_collations_a_migration_created(self):
        """Collations made by Django's CreateCollation (pg_tally 0.15.0): the max of a column
        in a natural-order ICU collation follows that collation, and distinct emails of a
        case-insensitive (nondeterministic) column are counted by an expression over it."""
        import pg_tally
        from django.contrib.postgres.operations import CreateCollation
        from django.db import connection, models, transaction
        from django.db.models import Max
        from django.db.models.functions import Lower

        from pg_tally.operations import CreateMetric

        self.run_operation(CreateCollation("natural_order", provider="icu", locale="und-u-kn-true"))
        self.run_operation(CreateCollation("case_insensitive", provider="icu", locale="und-u-ks-level2",
                                           deterministic=False))
        User.objects.bulk_create([User(email=f"P{i}@example.com") for i in (2, 10)])
        old_email = User._meta.get_field("email")
        for collation in ("natural_order", "case_insensitive"):
            new_email = models.EmailField(db_collation=collation)
            new_email.set_attributes_from_name("email")
            new_email.model = User
            with connection.schema_editor() as editor:
                editor.alter_field(User, old_email, new_email)
            old_email = new_email
            if collation == "natural_order":
                self.run_operation(CreateMetric("last_email", model="shop.User", aggregate="max", field="email"))
                # 'P10@…' > 'p5@…' in natural order, where byte order has it the other way.
                self.assertEqual(pg_tally.value("last_email", as_type="text"),
                                 User.objects.aggregate(m=Max("email"))["m"])
                self.assertEqual(pg_tally.value("last_email", as_type="text"), "P10@example.com")
                self.run_operation(CreateMetric("last_email", model="shop.User", aggregate="max", field="email"),
                                   backwards=True)
        # A nondeterministic collation equates texts with other bytes: refused.
        with self.assertRaisesMessage(Exception, "nondeterministic collation"), transaction.atomic():
            self.run_operation(CreateMetric("any_email", model="shop.User", aggregate="max", field="email"))
        self.run_operation(CreateMetric("distinct_emails", model="shop.User", aggregate="count_distinct",
                                        expression='lower(email) COLLATE "C"'))
        self.assertEqual(pg_tally.value("distinct_emails"),
                         User.objects.annotate(e=Lower("email")).values("e").distinct().count())
        self.assertEqual(pg_tally.value("distinct_emails"), 7)

    def test_descriptions_and_sqlmigrate(self):
        import io

        from django.core.management import call_command

        from pg_tally.operations import CreateDashboard, CreateMetric, DropDashboard

        self.assertEqual(CreateMetric("m", model="shop.Order", aggregate="sum", field="amount").describe(),
                         "Create pg_tally metric m (sum) on shop.Order")
        self.assertEqual(CreateDashboard("d", metrics=["a", "b"]).describe(), "Create pg_tally dashboard d (2 metrics)")
        self.assertFalse(DropDashboard("d").reversible)
        name, args, kwargs = CreateMetric("m", model="shop.Order", group_by=["status"]).deconstruct()
        self.assertEqual((name, args, kwargs), ("CreateMetric", ["m"], {"model": "shop.Order", "group_by": ["status"]}))
        out = io.StringIO()
        call_command("sqlmigrate", "shop", "0002", stdout=out)
        sql = out.getvalue()
        self.assertIn("tally.create_metric('revenue_today', 'orders'::regclass, 'sum', 'amount'", sql)
        # The Q filter, compiled by Django and passed as one quoted text argument.
        self.assertIn("""'"status" IN (''PAID'', ''SHIPPED'')'""", sql)
        self.assertIn("tally.create_dashboard('admin'", sql)

    def test_system_check(self):
        import pg_tally
        from pg_tally.checks import check_extension

        self.assertEqual(check_extension(databases=["default"]), [])
        expected = pg_tally.EXTENSION_VERSION
        try:
            pg_tally.EXTENSION_VERSION = "99.0.0"
            self.assertEqual([m.id for m in check_extension(databases=["default"])], ["pg_tally.W001"])
        finally:
            pg_tally.EXTENSION_VERSION = expected


def page_expectations():
    """What the dashboard page must show, from live aggregates over the tables."""
    live = live_figures()
    since = timezone.now() - datetime.timedelta(days=30)
    days = (
        Order.objects.filter(status__in=["PAID", "SHIPPED"], created_at__gte=since)
        .annotate(day=TruncDay("created_at", tzinfo=datetime.timezone.utc))
        .values("day")
        .annotate(s=Sum("amount"))
    )
    return live, {row["day"].date().isoformat(): row["s"] for row in days}


class DashboardPageTests(TestCase):
    def setUp(self):
        user = User.objects.create(email="page@example.com")
        Order.objects.bulk_create([Order(user=user, status=STATUSES[i % 5], amount=Decimal(i)) for i in range(20)])
        # Orders of earlier days: the line has a point per day with paid or shipped orders.
        for days_ago in (1, 3):
            Order.objects.filter(id__in=Order.objects.filter(status="PAID").values("id")[:2]).update(
                created_at=timezone.now() - datetime.timedelta(days=days_ago)
            )

    def test_one_page_load_is_two_queries(self):
        with self.assertNumQueries(2):  # the snapshot, and the revenue_by_day series
            response = self.client.get("/dashboard/page/")
        self.assertEqual(response.status_code, 200)
        html = response.content.decode()
        live, per_day = page_expectations()
        self.assertIn(f'<div class="card" data-metric="total_orders"><div class="name">total_orders</div>'
                      f'<div class="value">{live["total_orders"]}</div>', html)
        for status, n in live["orders_per_status"].items():
            self.assertIn(f'data-label="{status}" data-value="{n}"', html)
        self.assertEqual(html.count("<circle "), len(per_day))


class BrowserTests(LiveServerTestCase):
    """The page in a real browser: Debian's headless Chromium, driven by Selenium, loads it from
    Django's test server against the real extension. The cards equal live aggregates, the
    charts have their marks, ORM writes between two loads move the figures, and a screenshot
    is kept (target/artifacts/django-dashboard.png, not committed)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = os.environ.get("PGTALLY_CHROMIUM", "/usr/bin/chromium")
        for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000"):
            options.add_argument(argument)
        service = Service(os.environ.get("PGTALLY_CHROMEDRIVER", "/usr/bin/chromedriver"))
        cls.browser = webdriver.Chrome(service=service, options=options)

    @classmethod
    def tearDownClass(cls):
        cls.browser.quit()
        super().tearDownClass()

    def shown(self):
        from selenium.webdriver.common.by import By

        self.browser.get(f"{self.live_server_url}/dashboard/page/")
        cards = {
            card.get_attribute("data-metric"): card.find_element(By.CLASS_NAME, "value").text
            for card in self.browser.find_elements(By.CSS_SELECTOR, ".card")
        }
        bars = {
            bar.get_attribute("data-label"): int(bar.get_attribute("data-value"))
            for bar in self.browser.find_elements(By.CSS_SELECTOR, 'svg.bar[data-metric="orders_per_status"] rect')
        }
        points = {
            dot.get_attribute("data-bucket")[:10]: Decimal(dot.get_attribute("data-value"))
            for dot in self.browser.find_elements(By.CSS_SELECTOR, 'svg.line[data-metric="revenue_by_day"] circle')
        }
        return cards, bars, points

    def assert_page_is_live(self):
        cards, bars, points = self.shown()
        live, per_day = page_expectations()
        for name in ("total_users", "active_users", "total_orders", "orders_today"):
            self.assertEqual(cards[name], str(live[name]), name)
        self.assertEqual(Decimal(cards["revenue_today"]), live["revenue_today"])
        self.assertEqual(bars, live["orders_per_status"])
        self.assertEqual(points, per_day)
        self.assertGreater(len(points), 1)

    def test_the_page_in_chromium_follows_orm_writes(self):
        user = User.objects.create(email="browser@example.com")
        Order.objects.bulk_create([Order(user=user, status=STATUSES[i % 5], amount=Decimal(i) + Decimal("0.5"))
                                   for i in range(40)])
        Order.objects.filter(id__in=Order.objects.filter(status="SHIPPED").values("id")[:3]).update(
            created_at=timezone.now() - datetime.timedelta(days=2)
        )
        self.assert_page_is_live()
        artifacts = Path(os.environ.get("PGTALLY_ARTIFACTS", Path(__file__).resolve().parents[3] / "target" / "artifacts"))
        artifacts.mkdir(parents=True, exist_ok=True)
        self.assertTrue(self.browser.save_screenshot(str(artifacts / "django-dashboard.png")))
        # Writes through the ORM between two loads move the figures.
        Order.objects.bulk_create([Order(user=user, status="PAID", amount=Decimal("100.25")) for _ in range(5)])
        Order.objects.filter(status="CANCELLED").delete()
        User.objects.create(email="second@example.com", is_active=False)
        self.assert_page_is_live()
