"""Small server-side SVG charts for the monthly report: horizontal bars, columns, a line.

Why not matplotlib (docs/reports.md): the report needs three plain chart shapes; this module
draws them in ~100 lines with no native dependency, no font cache, no global pyplot state to
guard across threads, and output that is the same bytes every run, readable in the HTML page
and in WeasyPrint's PDF alike. Every label is XML-escaped (markupsafe); every bar is one
`<rect class="bar">` and every point one `<circle class="point">`, which the tests count.
"""
from __future__ import annotations

from typing import Callable, Sequence

from markupsafe import Markup, escape

INK, BAR, GRID, HIGHLIGHT = "#14121f", "#6c4bd8", "#dedbe8", "#e0561b"
Fmt = Callable[[float], str]


def _svg(width: int, height: int, title: str, body: list[str]) -> Markup:
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
            f'role="img" aria-label="{escape(title)}" font-family="DejaVu Sans, sans-serif" font-size="11">'
            f"<title>{escape(title)}</title>")
    return Markup(head + "".join(body) + "</svg>")


def bars(title: str, items: Sequence[tuple[str, float]], fmt: Fmt = str, *, scale: float | None = None,
         mark: float | None = None) -> Markup:
    """Horizontal bars, one row per (label, value); `scale` is the full-width value, `mark` a reference line."""
    top = max([v for _, v in items] + [scale or 0, 1e-9])
    row, label_w, bar_w = 22, 190, 330
    body = []
    for i, (label, value) in enumerate(items):
        y, w = 6 + i * row, bar_w * max(value, 0) / top
        body.append(f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end" fill="{INK}">{escape(label[:32])}</text>'
                    f'<rect class="bar" x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row - 7}" fill="{BAR}"/>'
                    f'<text x="{label_w + w + 4:.1f}" y="{y + 14}" fill="{INK}">{escape(fmt(value))}</text>')
    height = 12 + row * max(len(items), 1)
    if mark is not None:
        x = label_w + bar_w * mark / top
        body.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="2" y2="{height - 4}" stroke="{HIGHLIGHT}" '
                    f'stroke-dasharray="3 3"/>')
    return _svg(label_w + bar_w + 70, height, title, body)


def columns(title: str, items: Sequence[tuple[str, float]], fmt: Fmt = str) -> Markup:
    """Vertical columns, one per (label, value), value above each."""
    top = max([v for _, v in items] + [1e-9])
    width, height, base = 540, 190, 160
    step = (width - 20) / max(len(items), 1)
    body = [f'<line x1="10" x2="{width - 10}" y1="{base}" y2="{base}" stroke="{GRID}"/>']
    for i, (label, value) in enumerate(items):
        h = 130 * max(value, 0) / top
        x = 10 + i * step
        body.append(f'<rect class="bar" x="{x + step * 0.15:.1f}" y="{base - h:.1f}" width="{step * 0.7:.1f}" '
                    f'height="{h:.1f}" fill="{BAR}"/>'
                    f'<text x="{x + step / 2:.1f}" y="{base - h - 4:.1f}" text-anchor="middle" fill="{INK}">'
                    f'{escape(fmt(value))}</text>'
                    f'<text x="{x + step / 2:.1f}" y="{base + 15}" text-anchor="middle" fill="{INK}">'
                    f'{escape(label)}</text>')
    return _svg(width, height, title, body)


def line(title: str, points: Sequence[tuple[str, float]], fmt: Fmt = str, *, every: int = 5) -> Markup:
    """A line through (label, value) points, a dot on each; every `every`-th label is written."""
    top = max([v for _, v in points] + [1e-9])
    width, base, left = 540, 150, 60
    step = (width - left - 10) / max(len(points) - 1, 1)
    xy = [(left + i * step, base - 125 * max(v, 0) / top) for i, (_, v) in enumerate(points)]
    body = [f'<line x1="{left}" x2="{width - 10}" y1="{base}" y2="{base}" stroke="{GRID}"/>',
            f'<text x="{left - 6}" y="{base - 121}" text-anchor="end" fill="{INK}">{escape(fmt(top))}</text>',
            f'<text x="{left - 6}" y="{base + 4}" text-anchor="end" fill="{INK}">{escape(fmt(0))}</text>',
            '<polyline fill="none" stroke="{}" stroke-width="2" points="{}"/>'.format(
                BAR, " ".join(f"{x:.1f},{y:.1f}" for x, y in xy))]
    for i, ((label, _), (x, y)) in enumerate(zip(points, xy)):
        body.append(f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{BAR}"/>')
        if i % every == 0:
            body.append(f'<text x="{x:.1f}" y="{base + 15}" text-anchor="middle" fill="{INK}">{escape(label)}</text>')
    return _svg(width, base + 22, title, body)
