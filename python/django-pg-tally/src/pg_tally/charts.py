"""Charts drawn on the server as inline SVG: no script, no library, no CDN. Each mark carries
its label and value as data attributes, so a test (or a screen reader) reads what is drawn."""

from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

WIDTH = 560
HEIGHT = 220
MARGIN = 28


def _n(number):
    """A coordinate as SVG text (format_html escapes its arguments: they arrive as text)."""
    return f"{number:.1f}"


def _scale(values):
    top = max([float(v) for v in values if v is not None] + [0.0])
    return top if top > 0 else 1.0


def bar_chart(metric, figures):
    """One bar per group of ``figures`` ({group: value}), in descending order of value."""
    items = sorted(figures.items(), key=lambda item: (-float(item[1] or 0), str(item[0])))
    top = _scale(v for _, v in items)
    slot = (WIDTH - 2 * MARGIN) / max(len(items), 1)
    bars = []
    for i, (label, value) in enumerate(items):
        height = (HEIGHT - 2 * MARGIN) * float(value or 0) / top
        x = MARGIN + i * slot + slot * 0.15
        y = HEIGHT - MARGIN - height
        bars.append((x, y, slot * 0.7, height, label, value, x + slot * 0.35, HEIGHT - MARGIN / 3, y - 4))
    body = format_html_join(
        "",
        '<g class="bar"><rect x="{}" y="{}" width="{}" height="{}" data-label="{}" data-value="{}"></rect>'
        '<text x="{}" y="{}" text-anchor="middle">{}</text>'
        '<text x="{}" y="{}" text-anchor="middle" class="figure">{}</text></g>',
        (
            (_n(x), _n(y), _n(w), _n(h), label, value, _n(cx), _n(ly), label, _n(cx), _n(vy), value)
            for x, y, w, h, label, value, cx, ly, vy in bars
        ),
    )
    return format_html(
        '<svg class="chart bar" data-metric="{}" viewBox="0 0 {} {}" role="img" aria-label="{}">{}</svg>',
        metric, WIDTH, HEIGHT, metric, body,
    )


def line_chart(metric, points):
    """A line through ``points`` ([(bucket_start, value)]), in time order."""
    points = sorted(points)
    top = _scale(v for _, v in points)
    step = (WIDTH - 2 * MARGIN) / max(len(points) - 1, 1)
    coords = [
        (MARGIN + i * step, HEIGHT - MARGIN - (HEIGHT - 2 * MARGIN) * float(value or 0) / top, start, value)
        for i, (start, value) in enumerate(points)
    ]
    line = " ".join(f"{_n(x)},{_n(y)}" for x, y, _, _ in coords)
    dots = format_html_join(
        "",
        '<circle cx="{}" cy="{}" r="3" data-bucket="{}" data-value="{}"><title>{}: {}</title></circle>',
        ((_n(x), _n(y), start.isoformat(), value, start.date().isoformat(), value) for x, y, start, value in coords),
    )
    return format_html(
        '<svg class="chart line" data-metric="{}" viewBox="0 0 {} {}" role="img" aria-label="{}">'
        '<polyline points="{}" fill="none"></polyline>{}</svg>',
        metric, WIDTH, HEIGHT, metric, mark_safe(line), dots,
    )
