"""bench/RESULTS.md from one run's results: each figure beside its same-run baseline and the ratio."""
from __future__ import annotations

from pathlib import Path
from typing import Any


def _ratio(ours: float | None, base: float | None, lower_is_better: bool = False) -> str:
    if not ours or not base:
        return "n/a"
    value = base / ours if lower_is_better else ours / base
    return f"{value * 100:.0f} %"


def _met(ok: bool | None) -> str:
    return "n/a" if ok is None else ("met" if ok else "**missed**")


def _ms(p: dict[str, Any], key: str) -> str:
    return f"{p[key]:.1f} ms" if p.get("count") else "n/a"


def render(r: dict[str, Any]) -> str:
    """The whole markdown page."""
    m = r["machine"]
    lines = [
        "# Benchmark results", "",
        "Rewritten by `make bench` (`python -m bench.run`). Every baseline was measured in the same run, on the same",
        "machine, driven by the same client code. Nothing here is a test: these are honest figures.", "",
        f"- date: {m['date']}",
        f"- machine: {m['cpu']}, {m['cores']} cores, {m['memory_mib']} MiB, Linux {m['kernel']}",
        f"- software: Python {m['python']}, Redis {m['redis']}, PostgreSQL {m['postgresql']}",
        f"- pinned: {m['pinned']}",
        f"- scale: {', '.join(f'{k}={v}' for k, v in r['scale'].items())}", "",
        "## Summary", "",
        "| figure | Houseful | baseline (same run) | ratio | target (issue 6) | |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    lines += _summary_rows(r)
    lines += _live_details(r)
    lines += _rush_details(r)
    lines += ["", "## Checkout", "", r.get("checkout", {}).get("markdown", "_not run_"), ""]
    analysis = Path(__file__).with_name("analysis.md")
    if analysis.exists():  # the hand-written reading of the last full run's misses and profile
        lines += ["", analysis.read_text().strip(), ""]
    return "\n".join(lines) + "\n"


def _summary_rows(r: dict[str, Any]) -> list[str]:
    rows = []
    if "holds_server" in r:
        hs, hd = r["holds_server"], r["holds_direct"]
        rows.append(f"| holds/s ({r['scale']['concurrency']} concurrent customers) | {hs['holds_per_s']:.0f} | "
                    f"{hd['holds_per_s']:.0f} (Lua on Redis directly) | {_ratio(hs['holds_per_s'], hd['holds_per_s'])}"
                    f" | ≥ 50 % | {_met(hs['holds_per_s'] >= 0.5 * hd['holds_per_s'])} |")
        rows.append(f"| hold-ack p50 / p99 | {_ms(hs, 'p50')} / {_ms(hs, 'p99')} | {_ms(hd, 'p50')} / {_ms(hd, 'p99')}"
                    f" | | | |")
    if "fanout_server" in r:
        fs, fb = r["fanout_server"], r["fanout_bare"]
        rows.append(f"| fan-out frames/s into {r['scale']['watchers']} sockets | {fs['frames_per_s']} | "
                    f"{fb['frames_per_s']} (bare aiohttp loop) | {_ratio(fs['frames_per_s'], fb['frames_per_s'])} | "
                    f"≥ 70 % | {_met(fs['frames_per_s'] >= 0.7 * fb['frames_per_s'])} |")
        rows.append(f"| fan-out seat changes delivered/s | {fs['events_per_s']} | {fb['events_per_s']} | "
                    f"{_ratio(fs['events_per_s'], fb['events_per_s'])} | | |")
        rows.append(f"| broadcast lag p50 / p99, closed loop | {_ms(fs['lag'], 'p50')} / {_ms(fs['lag'], 'p99')} | "
                    f"{_ms(fb['lag'], 'p50')} / {_ms(fb['lag'], 'p99')} | | | |")
        if "fanout_server_paced" in r:
            sp, bp = r["fanout_server_paced"], r["fanout_bare_paced"]
            rows.append(f"| broadcast lag p50 / p99, {r['scale']['fanout_rate']} changes/s into "
                        f"{r['scale']['watchers']} sockets | {_ms(sp['lag'], 'p50')} / {_ms(sp['lag'], 'p99')} | "
                        f"{_ms(bp['lag'], 'p50')} / {_ms(bp['lag'], 'p99')} | | | |")
    if "sockets_server" in r:
        ss, sb = r["sockets_server"], r["sockets_bare"]
        ok = ss["kib_per_socket"] is not None and ss["kib_per_socket"] <= 20 and ss["sockets"] >= r["scale"]["sockets"]
        rows.append(f"| RSS per idle socket ({ss['sockets']} / {sb['sockets']} open) | {ss['kib_per_socket']} KiB | "
                    f"{sb['kib_per_socket']} KiB (bare aiohttp) | "
                    f"{_ratio(ss['kib_per_socket'], sb['kib_per_socket'], lower_is_better=True)} | "
                    f"≤ 20 KiB, 10,000 sockets | {_met(ok)} |")
    if "rush" in r:
        rush = r["rush"]
        lat = rush["latency_ms"]
        houseful = rush["time_to_houseful_s"]
        rows += [
            f"| rush: time to houseful ({rush['clients']} clients, 500 seats) | "
            f"{'%.2f s' % houseful if houseful is not None else 'not reached'} | | | ≤ 5 s | "
            f"{_met(houseful is not None and houseful <= 5)} |",
            f"| rush: hold-ack p99 | {_ms(lat['hold_ack'], 'p99')} | | | ≤ 100 ms | "
            f"{_met(lat['hold_ack']['p99'] <= 100)} |",
            f"| rush: broadcast lag p99 | {_ms(lat['broadcast_lag'], 'p99')} | | | ≤ 250 ms | "
            f"{_met(lat['broadcast_lag']['p99'] <= 250)} |",
            f"| rush: errors | {rush['errors']['total']} | | | 0 | {_met(rush['errors']['total'] == 0)} |",
            f"| rush: broken invariants | {len(rush['invariants']['broken'])} | | | 0 | "
            f"{_met(rush['invariants']['checked'] and not rush['invariants']['broken'])} |",
        ]
    rows.append("| confirms/s vs pgbench | see Checkout below | | | ≥ 50 % | |")
    return rows


def _live_details(r: dict[str, Any]) -> list[str]:
    out: list[str] = []
    if "holds_server" in r:
        out += ["", "## Holds: through the server vs the Lua scripts on Redis", "",
                "Each customer holds its own seat and releases it again, each step waiting for its answer "
                "(a closed loop). Through the server: one WebSocket per customer, `hold` then `release` "
                "commands (the per-socket command limit lifted for this bench). Baseline: the same loop "
                "calling `HoldStore.hold`/`release` (the same Lua scripts by SHA) from this process.", "",
                "| path | holds/s | p50 | p90 | p99 | p99.9 | max | refused |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for label, key in (("server (WebSocket)", "holds_server"), ("Redis directly", "holds_direct")):
            p = r[key]
            out.append(f"| {label} | {p['holds_per_s']:.0f} | {_ms(p, 'p50')} | {_ms(p, 'p90')} | {_ms(p, 'p99')} | "
                       f"{_ms(p, 'p99.9')} | {_ms(p, 'max')} | {p['errors']} |")
    if "fanout_server" in r:
        out += ["", "## Fan-out into one room", "",
                f"{r['scale']['watchers']} watcher sockets in one room for {r['scale']['fanout_seconds']} s. Houseful: "
                "one writer holds and releases a seat as fast as its acks come; the room coalesces changes per "
                "tick (websocket.tick_ms) into one frame per socket. Bare: a publisher sends `pub` and waits for "
                "its own copy; the server encodes once and awaits `send_str` to every socket in turn. "
                "Frames/s and changes/s are summed over the watchers; lag is server timestamp -> receipt. "
                "The closed loops measure throughput (each server as fast as it acknowledges); the paced runs "
                "give both servers the same fixed rate of changes, so their lags compare like for like.", "",
                "| server | writes/s | frames/s | changes/s | lag p50 | lag p99 | lag max |",
                "| --- | --- | --- | --- | --- | --- | --- |"]
        runs = [("Houseful room, closed loop", "fanout_server"), ("bare aiohttp loop, closed loop", "fanout_bare"),
                (f"Houseful room, {r['scale'].get('fanout_rate')}/s", "fanout_server_paced"),
                (f"bare aiohttp loop, {r['scale'].get('fanout_rate')}/s", "fanout_bare_paced")]
        for label, key in [(lab, k) for lab, k in runs if k in r]:
            p = r[key]
            out.append(f"| {label} | {p['writes_per_s']} | {p['frames_per_s']} | {p['events_per_s']} | "
                       f"{_ms(p['lag'], 'p50')} | {_ms(p['lag'], 'p99')} | {_ms(p['lag'], 'max')} |")
    if "sockets_server" in r:
        out += ["", "## Idle sockets", "", "| server | open | failed | RSS before | RSS after | KiB/socket | opened in |",
                "| --- | --- | --- | --- | --- | --- | --- |"]
        for label, key in (("Houseful worker (room + snapshot)", "sockets_server"), ("bare aiohttp", "sockets_bare")):
            p = r[key]
            out.append(f"| {label} | {p['sockets']} | {p['failed']} | {p['rss_before_kib']} KiB | "
                       f"{p['rss_after_kib']} KiB | {p['kib_per_socket']} | {p['open_seconds']} s |")
    return out


def _rush_details(r: dict[str, Any]) -> list[str]:
    if "rush" not in r:
        return []
    rush = r["rush"]
    out = ["", "## The rush", "",
           f"`python -m loadtest rush --clients {rush['clients']} --arrival {r['scale']['rush_arrival']} "
           "--seats 2 --checkout-fraction 0.2` against one worker on core 0, the load tool on core 1 "
           "(one process). Full report: `bench/out/rush-report.html` / `.json` (not committed).", "",
           "| latency | p50 | p90 | p99 | p99.9 | max | n |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for name, p in rush["latency_ms"].items():
        out.append(f"| {name} | {_ms(p, 'p50')} | {_ms(p, 'p90')} | {_ms(p, 'p99')} | {_ms(p, 'p99.9')} | "
                   f"{_ms(p, 'max')} | {p['count']} |")
    msgs = rush["messages"]
    out += ["", f"- messages: {msgs['in']} in ({msgs['in_per_s']}/s), {msgs['out']} out ({msgs['out_per_s']}/s)",
            f"- holds {rush['holds']} ({rush['seats_held']} seats); orders paid {rush['orders_paid']} "
            f"({rush['sold']} seats)",
            f"- conflicts: {rush['conflicts']}", f"- errors: {rush['errors']}",
            f"- invariants: {'all hold' if rush['invariants']['checked'] and not rush['invariants']['broken'] else rush['invariants']}"]
    if "profile" in r:
        prof = r["profile"]
        out += ["", "### Profile during a second rush (py-spy, share of samples by own time)", ""]
        if "note" in prof:
            out.append(prof["note"])
        for who, title in (("server", "server worker (core 0)"), ("load", "load generator (core 1)")):
            if prof.get(who):
                out += ["", f"{title}:", "", "| function | share |", "| --- | --- |"]
                out += [f"| `{name}` | {share} % |" for name, share in prof[who]]
    return out


def write_section(results: Path, begin: str, end: str, section: str) -> None:
    """Replace (or append) the section of RESULTS.md between the markers begin and end."""
    text = results.read_text()
    if begin in text:
        head, rest = text.split(begin, 1)
        text = head + section.strip() + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + section.strip() + "\n"
    results.write_text(text)
