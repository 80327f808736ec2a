from django.apps import AppConfig


class PgTallyConfig(AppConfig):
    name = "pg_tally"
    verbose_name = "pg_tally"

    def ready(self):
        # Registers the system check (pg_tally.E001, W001).
        from pg_tally import checks  # noqa: F401
