"""The end of a run: a k6/Artillery-style summary, a JSON file for machines, an HTML report with SVG charts."""
from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any

import orjson

from loadtest.metrics import Metrics

LATENCY_LABELS = {
    "connect": "connect (upgrade -> first snapshot)",
    "hold_ack": "hold ack (command -> result)",
    "broadcast_lag": "broadcast lag (server ts -> receipt)",
    "checkout": "checkout (order -> paid)",
    "line_wait": "time in line (arrival -> admission)",
    "line_age": "position age (how old a waiting client's place got)",
    # The load tool's own event loop: how late a 20 ms timer fired. Every latency above was taken
    # on that loop, so it contains up to this much of the load tool's own delay, not the server's.
    "load_lag": "load tool's own lag (late timers)",
}
# Every key a summary always has (tests and dashboards rely on them).
SUMMARY_KEYS = (
    "scenario", "target", "screening_id", "clients", "processes", "seed", "started_at", "duration_s",
    "latency_ms", "messages", "holds", "seats_held", "sold", "orders_paid", "conflicts", "errors",
    "time_to_houseful_s", "connected_peak", "invariants", "passed",
)


def summarise(metrics: Metrics, *, meta: dict[str, Any], ended: float, rush_started: float,
              violations: list[dict[str, Any]] | None, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every figure of a run as one JSON-able dict."""
    duration = max(ended - rush_started, 1e-9)
    counts = metrics.counts
    houseful = metrics.houseful_at - rush_started if metrics.houseful_at is not None else None
    errors = dict(sorted(metrics.errors.items(), key=lambda kv: -kv[1]))
    return {
        **meta,
        "started_at": rush_started,
        "duration_s": round(duration, 3),
        "latency_ms": metrics.latency_ms(),
        "messages": {
            "in": counts["frames_in"], "out": counts["commands_out"],
            "in_per_s": round(counts["frames_in"] / duration, 1),
            "out_per_s": round(counts["commands_out"] / duration, 1),
            "http_requests": counts["http_requests"],
        },
        "holds": counts["holds"], "seats_held": counts["seats_held"], "sold": counts["sold"],
        "orders_paid": counts["orders_paid"],
        "conflicts": {"total": sum(metrics.conflicts.values()), **dict(metrics.conflicts)},
        "errors": {"total": sum(errors.values()), **errors},
        "time_to_houseful_s": round(houseful, 3) if houseful is not None else None,
        "connected_peak": counts["connected_peak"],
        "invariants": {"checked": violations is not None, "broken": violations or []},
        "passed": not errors and not violations,
        **(extra or {}),
        "timeline": metrics.series(),
    }


def _fmt(value: float) -> str:
    return f"{value:.2f}ms" if value < 1000 else f"{value / 1000:.2f}s"


def render_text(summary: dict[str, Any]) -> str:
    """The terminal summary, in the manner of k6."""
    lines = [
        f"\n  scenario: {summary['scenario']}  target: {summary['target']}  screening: {summary['screening_id']}",
        f"  clients: {summary['clients']}  processes: {summary['processes']}  seed: {summary['seed']}  "
        f"duration: {summary['duration_s']:.2f}s\n",
    ]
    for name, label in LATENCY_LABELS.items():
        p = summary["latency_ms"][name]
        if name.startswith("line_") and not p["count"]:
            continue  # only runs with --waiting-room have these
        if not p["count"]:
            lines.append(f"  {label:.<42} (no samples)")
            continue
        lines.append(f"  {label:.<42} p50={_fmt(p['p50'])} p90={_fmt(p['p90'])} p99={_fmt(p['p99'])} "
                     f"p99.9={_fmt(p['p99.9'])} max={_fmt(p['max'])} n={p['count']}")
    m = summary["messages"]
    lines += [
        f"  {'messages in (server -> clients)':.<42} {m['in']} ({m['in_per_s']}/s)",
        f"  {'messages out (clients -> server)':.<42} {m['out']} ({m['out_per_s']}/s)",
        f"  {'holds (seats held)':.<42} {summary['holds']} ({summary['seats_held']})",
        f"  {'orders paid (seats sold)':.<42} {summary['orders_paid']} ({summary['sold']})",
        f"  {'conflicts':.<42} {_counts(summary['conflicts'])}",
        f"  {'errors':.<42} {_counts(summary['errors'])}",
    ]
    houseful = summary["time_to_houseful_s"]
    lines.append(f"  {'time to houseful':.<42} {'%.2fs' % houseful if houseful is not None else 'not reached'}")
    for key, value in summary.items():
        if key.startswith("x_"):
            lines.append(f"  {key[2:].replace('_', ' '):.<42} {value}")
    inv = summary["invariants"]
    if not inv["checked"]:
        lines.append(f"  {'invariants':.<42} not checked (no --database-url)")
    elif not inv["broken"]:
        lines.append(f"  {'invariants':.<42} all hold")
    else:
        for v in inv["broken"]:
            lines.append(f"  BROKEN INVARIANT {v['invariant']} (screening {v['screening_id']}): {v['detail']}")
    lines.append(f"\n  {'PASSED' if summary['passed'] else 'FAILED'}\n")
    return "\n".join(lines)


def _counts(table: dict[str, int]) -> str:
    rest = {k: v for k, v in table.items() if k != "total"}
    return f"{table['total']}" + (" (" + ", ".join(f"{k}={v}" for k, v in rest.items()) + ")" if rest else "")


def write_json(summary: dict[str, Any], path: str | Path) -> None:
    """The summary for machines."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2))


# --- HTML -------------------------------------------------------------------------------------

W, H, PAD = 760, 260, 48


def _axis_max(values: list[float]) -> float:
    top = max(values, default=1.0) or 1.0
    step = 10 ** math.floor(math.log10(top))
    return math.ceil(top / step) * step


def line_chart(rows: list[dict[str, Any]], series: str, title: str) -> str:
    """Latency over time: p50, p99 and max per interval of one series, as inline SVG."""
    points = [(r["t"], r[series]) for r in rows if series in r]
    if not points:
        return f"<p>{html.escape(title)}: no samples.</p>"
    t_max = max(t for t, _ in points) or 1.0
    y_max = _axis_max([p["max"] for _, p in points])
    x = lambda t: PAD + (W - 2 * PAD) * t / t_max  # noqa: E731
    y = lambda v: H - PAD + (2 * PAD - H) * min(v, y_max) / y_max  # noqa: E731
    parts = [f'<svg viewBox="0 0 {W} {H}" role="img" aria-label="{html.escape(title)}">',
             f'<text x="{PAD}" y="20" class="t">{html.escape(title)}</text>',
             f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - PAD}" y2="{H - PAD}" class="ax"/>',
             f'<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{H - PAD}" class="ax"/>',
             f'<text x="4" y="{PAD + 4}" class="l">{y_max:g} ms</text><text x="4" y="{H - PAD}" class="l">0</text>',
             f'<text x="{W - PAD}" y="{H - PAD + 16}" class="l" text-anchor="end">{t_max:g} s</text>']
    for key, css in (("max", "mx"), ("p99", "p99"), ("p50", "p50")):
        path = " ".join(f"{x(t):.1f},{y(p[key]):.1f}" for t, p in points)
        parts.append(f'<polyline points="{path}" class="{css}"><title>{key}</title></polyline>')
    parts.append(f'<text x="{W - PAD}" y="20" class="l" text-anchor="end">'
                 '<tspan class="p50f">p50</tspan> <tspan class="p99f">p99</tspan> <tspan class="mxf">max</tspan></text>')
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(buckets: list[tuple[float, int]], title: str) -> str:
    """A latency histogram (log-spaced buckets) as inline SVG bars."""
    if not buckets:
        return f"<p>{html.escape(title)}: no samples.</p>"
    top = max(c for _, c in buckets) or 1
    width = (W - 2 * PAD) / len(buckets)
    parts = [f'<svg viewBox="0 0 {W} {H}" role="img" aria-label="{html.escape(title)}">',
             f'<text x="{PAD}" y="20" class="t">{html.escape(title)}</text>',
             f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - PAD}" y2="{H - PAD}" class="ax"/>']
    for i, (upper, count) in enumerate(buckets):
        h = (H - 2 * PAD) * count / top
        parts.append(f'<rect x="{PAD + i * width:.1f}" y="{H - PAD - h:.1f}" width="{max(width - 1, 1):.1f}" '
                     f'height="{h:.1f}" class="bar"><title>&le; {upper:.3g} ms: {count}</title></rect>')
    for i in (0, len(buckets) // 2, len(buckets) - 1):
        parts.append(f'<text x="{PAD + (i + 0.5) * width:.1f}" y="{H - PAD + 16}" class="l" '
                     f'text-anchor="middle">{buckets[i][0]:.3g} ms</text>')
    parts.append("</svg>")
    return "".join(parts)


STYLE = """body{font:14px system-ui,sans-serif;margin:2em auto;max-width:820px;color:#222}
table{border-collapse:collapse}td,th{padding:.25em .8em;border-bottom:1px solid #ddd;text-align:right}
th:first-child,td:first-child{text-align:left}svg{width:100%;height:auto;margin:1em 0;background:#fafafa}
.t{font-weight:600}.l{font-size:11px;fill:#555}.ax{stroke:#999}.bar{fill:#4a7bd0}
polyline{fill:none;stroke-width:1.5}.p50{stroke:#2a9d4a}.p99{stroke:#d08a1a}.mx{stroke:#c0392b;stroke-dasharray:3 3}
.p50f{fill:#2a9d4a}.p99f{fill:#d08a1a}.mxf{fill:#c0392b}.bad{color:#c0392b;font-weight:600}.ok{color:#2a9d4a}"""


def write_html(summary: dict[str, Any], metrics: Metrics, path: str | Path) -> None:
    """A self-contained page: the figures, latency over time and a histogram per latency."""
    rows = "".join(
        f"<tr><td>{html.escape(label)}</td>" + "".join(
            f"<td>{summary['latency_ms'][name][k]:.2f}</td>" for k in ("p50", "p90", "p99", "p99.9", "max"))
        + f"<td>{summary['latency_ms'][name]['count']}</td></tr>"
        for name, label in LATENCY_LABELS.items())
    verdict = ('<p class="ok">PASSED</p>' if summary["passed"] else '<p class="bad">FAILED</p>')
    broken = "".join(f"<li class=bad>{html.escape(v['invariant'])}: {html.escape(v['detail'])}</li>"
                     for v in summary["invariants"]["broken"])
    text = html.escape(render_text(summary))
    charts = [line_chart(summary["timeline"], "hold_ack", "Hold-ack latency over time (ms)"),
              line_chart(summary["timeline"], "broadcast_lag", "Broadcast lag over time (ms)"),
              line_chart(summary["timeline"], "load_lag", "The load tool's own lag over time (ms)"),
              bar_chart(metrics.buckets("hold_ack"), "Hold-ack latency histogram"),
              bar_chart(metrics.buckets("broadcast_lag"), "Broadcast lag histogram")]
    page = (f"<!doctype html><html lang=en><meta charset=utf-8><title>Houseful load run: {summary['scenario']}"
            f"</title><style>{STYLE}</style><h1>Houseful load run: {html.escape(summary['scenario'])}</h1>"
            f"{verdict}<ul>{broken}</ul><table><tr><th>latency (ms)</th><th>p50</th><th>p90</th><th>p99</th>"
            f"<th>p99.9</th><th>max</th><th>n</th></tr>{rows}</table>{''.join(charts)}<pre>{text}</pre></html>")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(page)
