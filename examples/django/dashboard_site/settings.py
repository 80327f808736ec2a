"""A minimal Django project whose admin dashboard reads pg_tally's one-row snapshot."""
import os

SECRET_KEY = "example-only"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
TIME_ZONE = "UTC"
ROOT_URLCONF = "dashboard_site.urls"
INSTALLED_APPS = ["django.contrib.postgres", "pg_tally", "shop"]
MIDDLEWARE = []
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# pg_tally's dashboard page (pg_tally.views.DashboardPage) comes with its template.
STATIC_URL = "/static/"  # the test server's static handler wants one; the page needs none
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": os.environ.get("PGTALLY_DJANGO_DB", "tally_django"),
        "USER": os.environ.get("PGUSER", "postgres"),
        "HOST": "127.0.0.1",
        "PORT": os.environ.get("PGTALLY_PORT", "5499"),
    }
}
