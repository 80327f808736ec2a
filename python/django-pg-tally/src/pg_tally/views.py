"""A dashboard page rendered on the server: the dashboard's figures as cards, grouped ones as
bar charts, bucketed series as line charts. One query for the snapshot and one per series."""

import datetime

from django.utils import timezone
from django.views.generic import TemplateView

import pg_tally
from pg_tally.charts import bar_chart, line_chart


class DashboardPage(TemplateView):
    """``path("dashboard/", DashboardPage.as_view(dashboard="admin", series={"revenue_by_day": 30}))``

    ``dashboard`` names the pg_tally dashboard; ``series`` maps a bucketed metric to the days it
    shows. Wrap it in ``staff_member_required`` (or any access check) where it is not public:
    the page shows what the database role of the site may read."""

    template_name = "pg_tally/dashboard.html"
    dashboard = None
    title = None
    series = {}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        figures = pg_tally.snapshot(self.dashboard)
        as_of = figures.pop("as_of")
        errors = figures.pop("errors", {})
        cards = [(name, value) for name, value in figures.items() if not isinstance(value, dict)]
        bars = [(name, bar_chart(name, value)) for name, value in figures.items() if isinstance(value, dict)]
        lines = []
        for metric, days in self.series.items():
            rows = pg_tally.series(metric, timezone.now() - datetime.timedelta(days=days))
            totals = {}
            for start, _group, value in rows:
                totals[start] = totals.get(start, 0) + (value or 0)
            lines.append((metric, line_chart(metric, list(totals.items()))))
        context.update(title=self.title or self.dashboard, as_of=as_of, cards=cards, bars=bars, lines=lines,
                       errors=errors)
        return context
