from django.core.serializers.json import DjangoJSONEncoder
from django.http import JsonResponse

import pg_tally
from shop.models import AdminDashboard


def read_snapshot(name="admin"):
    """The whole dashboard in one query: counts as int, sums as exact Decimals."""
    return pg_tally.snapshot(name)


def dashboard(request):
    return JsonResponse(read_snapshot(), encoder=DjangoJSONEncoder)


def dashboard_typed(request):
    row = AdminDashboard.objects.get()
    return JsonResponse(
        {
            "as_of": row.as_of,
            "total_users": row.total_users,
            "active_users": row.active_users,
            "total_orders": row.total_orders,
            "orders_per_status": row.orders_per_status,
            "orders_today": row.orders_today,
            "revenue_today": row.revenue_today,
        },
        encoder=DjangoJSONEncoder,
    )
