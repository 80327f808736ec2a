from django.urls import path

from shop import views

urlpatterns = [
    path("dashboard/", views.dashboard),
    path("dashboard/typed/", views.dashboard_typed),
]
