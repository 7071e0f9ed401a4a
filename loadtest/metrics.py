"""What a load run measures: HDR histograms of latencies, counters, and a per-interval timeline.

Every load process keeps one Metrics; the parent merges them. Histograms travel between
processes as hdrh's compressed `encode()` strings and are merged with `decode_and_add`, so
percentiles of the whole run are exact to 3 significant digits whatever the process count.
"""
from __future__ import annotations

import time
from collections import Counter
from typing import Any, Iterable

from hdrh.histogram import HdrHistogram

# Latencies are recorded in microseconds, 1 µs .. 100 s.
LOWEST_US, HIGHEST_US = 1, 100_000_000
LATENCIES = ("connect", "hold_ack", "broadcast_lag", "checkout", "line_wait", "line_age", "load_lag")
PERCENTILES = (50.0, 90.0, 99.0, 99.9)
# The timeline keeps cheaper histograms (2 digits) per interval: enough for a latency-over-time chart.
TIMELINE_SERIES = ("hold_ack", "broadcast_lag", "line_age", "load_lag")


def histogram(digits: int = 3) -> HdrHistogram:
    """An empty latency histogram (µs)."""
    return HdrHistogram(LOWEST_US, HIGHEST_US, digits)


def clamp_us(value_us: float) -> int:
    """A latency clipped into the histogram's range (a negative lag from clock skew counts as 1 µs)."""
    return int(min(max(value_us, LOWEST_US), HIGHEST_US))


def percentiles_ms(h: HdrHistogram) -> dict[str, float]:
    """{"count", "p50", "p90", "p99", "p99.9", "max", "mean"} in milliseconds (zeros when empty)."""
    count = h.get_total_count()
    out: dict[str, float] = {"count": count}
    for p in PERCENTILES:
        out[f"p{p:g}"] = round(h.get_value_at_percentile(p) / 1000, 3) if count else 0.0
    out["max"] = round(h.get_max_value() / 1000, 3) if count else 0.0
    out["mean"] = round(h.get_mean_value() / 1000, 3) if count else 0.0
    return out


class Metrics:
    """One load process's measurements (or several processes' merged)."""

    def __init__(self, interval_s: float = 1.0, started: float | None = None) -> None:
        self.interval_s = interval_s
        self.started = time.time() if started is None else started  # wall clock: processes agree on it
        self.latency: dict[str, HdrHistogram] = {name: histogram() for name in LATENCIES}
        self.counts: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.conflicts: Counter[str] = Counter()
        # interval index -> series -> histogram; plus per-interval counters (holds, frames...)
        self.timeline: dict[int, dict[str, HdrHistogram]] = {}
        self.timeline_counts: dict[int, Counter[str]] = {}
        self.houseful_at: float | None = None  # wall clock of the first houseful seen by any client
        self.connected = 0  # sockets open right now (a gauge, summed over processes)

    # --- recording ------------------------------------------------------------------------

    def _slot(self, at: float | None = None) -> int:
        return max(0, int(((time.time() if at is None else at) - self.started) / self.interval_s))

    def record(self, name: str, value_us: float) -> None:
        """One latency sample of `name` (one of LATENCIES), also on the timeline when charted."""
        value = clamp_us(value_us)
        self.latency[name].record_value(value)
        if name in TIMELINE_SERIES:
            series = self.timeline.setdefault(self._slot(), {})
            h = series.get(name)
            if h is None:
                h = series[name] = histogram(2)
            h.record_value(value)

    def count(self, name: str, n: int = 1) -> None:
        """Bump a counter (also counted on the timeline)."""
        self.counts[name] += n
        slot = self.timeline_counts.get(self._slot())
        if slot is None:
            slot = self.timeline_counts[self._slot()] = Counter()
        slot[name] += n

    def error(self, code: str) -> None:
        """An unexpected failure (transport, internal, unavailable, rate_limited...), by code."""
        self.errors[code] += 1
        self.count("errors")

    def conflict(self, code: str) -> None:
        """An expected refusal in a rush (seat_taken, orphan_seat, houseful...), by code."""
        self.conflicts[code] += 1
        self.count("conflicts")

    def saw_houseful(self, at: float | None = None) -> None:
        """A client learned the screening is houseful; the earliest such moment is kept."""
        at = time.time() if at is None else at
        if self.houseful_at is None or at < self.houseful_at:
            self.houseful_at = at

    # --- moving between processes ----------------------------------------------------------

    def live(self) -> dict[str, Any]:
        """The few figures the live view shows (cheap: no histograms)."""
        return {"connected": self.connected, **{k: self.counts[k] for k in (
            "holds", "conflicts", "sold", "errors", "finished", "frames_in", "commands_out")},
            "houseful_at": self.houseful_at}

    def encode(self) -> dict[str, Any]:
        """A picklable/JSON-able form (histograms as hdrh encoded strings)."""
        return {
            "interval_s": self.interval_s, "started": self.started,
            "latency": {k: h.encode().decode() for k, h in self.latency.items()},
            "counts": dict(self.counts), "errors": dict(self.errors), "conflicts": dict(self.conflicts),
            "timeline": {str(i): {k: h.encode().decode() for k, h in s.items()} for i, s in self.timeline.items()},
            "timeline_counts": {str(i): dict(c) for i, c in self.timeline_counts.items()},
            "houseful_at": self.houseful_at, "connected": self.connected,
        }

    def merge(self, data: dict[str, Any]) -> None:
        """Add another process's encoded metrics into these (same start and interval assumed)."""
        for name, encoded in data["latency"].items():
            self.latency[name].decode_and_add(encoded.encode())
        self.counts.update(data["counts"])
        self.errors.update(data["errors"])
        self.conflicts.update(data["conflicts"])
        for index, series in data["timeline"].items():
            mine = self.timeline.setdefault(int(index), {})
            for name, encoded in series.items():
                mine.setdefault(name, histogram(2)).decode_and_add(encoded.encode())
        for index, counts in data["timeline_counts"].items():
            self.timeline_counts.setdefault(int(index), Counter()).update(counts)
        if data["houseful_at"] is not None:
            self.saw_houseful(data["houseful_at"])
        self.connected += data.get("connected", 0)

    @classmethod
    def merged(cls, parts: Iterable[dict[str, Any]], interval_s: float, started: float) -> "Metrics":
        """One Metrics from every process's encoded part."""
        total = cls(interval_s, started)
        for part in parts:
            total.merge(part)
        return total

    # --- reading ---------------------------------------------------------------------------

    def latency_ms(self) -> dict[str, dict[str, float]]:
        """Percentiles of every latency, in ms."""
        return {name: percentiles_ms(h) for name, h in self.latency.items()}

    def series(self) -> list[dict[str, Any]]:
        """The timeline as rows: {"t": seconds from start, "<series>": {p50,p99,max,count}, counters...}."""
        slots = sorted(set(self.timeline) | set(self.timeline_counts))
        rows = []
        for i in slots:
            row: dict[str, Any] = {"t": round(i * self.interval_s, 3)}
            for name, h in self.timeline.get(i, {}).items():
                row[name] = {"p50": h.get_value_at_percentile(50) / 1000, "p99": h.get_value_at_percentile(99) / 1000,
                             "max": h.get_max_value() / 1000, "count": h.get_total_count()}
            row.update(self.timeline_counts.get(i, {}))
            rows.append(row)
        return rows

    def buckets(self, name: str, count: int = 40) -> list[tuple[float, int]]:
        """A histogram's distribution as (upper bound ms, samples) on a log scale, for the chart."""
        h = self.latency[name]
        if h.get_total_count() == 0:
            return []
        lo, hi = max(h.get_min_value(), 1), max(h.get_max_value(), 2)
        ratio = (hi / lo) ** (1 / count) if hi > lo else 2.0
        out: list[tuple[float, int]] = []
        for step in h.get_log_iterator(lo, max(ratio, 1.01)):
            out.append((step.value_iterated_to / 1000, step.count_added_in_this_iter_step))
        return out
