from django.urls import path

from pg_tally.views import DashboardPage
from shop import views

urlpatterns = [
    path("dashboard/", views.dashboard),
    path("dashboard/typed/", views.dashboard_typed),
    # The page: the admin dashboard's figures as cards and bars, revenue per day as a line.
    path("dashboard/page/", DashboardPage.as_view(dashboard="admin", title="Shop", series={"revenue_by_day": 30})),
]
