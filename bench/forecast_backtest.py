"""The sell-out forecast's backtest: how far off is the predicted final occupancy, 7 days and 1 day
before the show, against naive baselines computed in the same run on the same simulated history.

History: server/domain/sales_sim.py (seed SEED): 8 films, 6 screens of 60-200 seats, four shows
a day each, 120 days. The model is fitted on the shows of the first 90 days and judged on the
last 30 (it never sees them). Baselines: "similar" (the mean final occupancy of similar past
screenings, the model's NAIVE) and "sold so far" (no more sales). Writes its section of
bench/RESULTS.md (between the forecast-backtest markers) and prints it. `make bench` runs it.
"""
from __future__ import annotations

import datetime as dt
import random
import re
import time
from typing import Any

import numpy as np

from server.config import ROOT
from server.domain.forecast import HOUSEFUL, LEADS, LIKELY, NAIVE, Curve, History, fit, predict
from server.domain.sales_sim import SalesSimulator, SimShow

SEED = 16
FILMS, DAYS, TRAIN_DAYS = 8, 120, 90
SCREENS = (60, 90, 120, 150, 180, 200)
HOURS = (11, 14, 17, 20)
AT = (7.0, 1.0)  # judged this many days before the show
START = dt.datetime(2030, 1, 7, tzinfo=dt.timezone.utc)  # a Monday
RESULTS = ROOT / "bench" / "RESULTS.md"
BEGIN, END = "<!-- forecast-backtest -->", "<!-- /forecast-backtest -->"


def shows() -> list[tuple[SimShow, list[dt.datetime]]]:
    """Every simulated show with its buying times."""
    sim, pick = SalesSimulator(SEED, FILMS), random.Random(SEED + 1)
    opened = {f: pick.randrange(-20, DAYS - 10) for f in range(FILMS)}  # first show day per film
    out = []
    for day in range(DAYS):
        playing = [f for f in range(FILMS) if opened[f] <= day] or [0]
        for screen, capacity in enumerate(SCREENS):
            for hour in HOURS:
                film = pick.choice(playing)
                starts = START + dt.timedelta(days=day, hours=hour)
                show = SimShow(film, screen, capacity, starts, starts.isoweekday(), hour, day - opened[film])
                out.append((show, sim.buying_times(show)))
    return out


def curve(i: int, show: SimShow, buys: list[dt.datetime]) -> Curve:
    sold_at = tuple(sum(b <= show.starts_at - dt.timedelta(days=lead) for b in buys) for lead in LEADS)
    return Curve(i, show.movie, show.auditorium, show.weekday, show.hour, show.capacity, sold_at)


def run() -> dict[str, Any]:
    """Fit on the first TRAIN_DAYS, judge on the rest; MAE (percentage points) per method and lead."""
    everything = shows()
    cut = START + dt.timedelta(days=TRAIN_DAYS)
    train = [curve(i, s, b) for i, (s, b) in enumerate(everything) if s.starts_at < cut]
    test = [(s, b) for s, b in everything if s.starts_at >= cut]
    began = time.perf_counter()
    model = fit(train)
    fit_seconds = time.perf_counter() - began
    history = History.of(train)
    errors: dict[str, dict[float, list[float]]] = {m: {a: [] for a in AT} for m in ("model", "similar", "sold")}
    flags = {a: {"tp": 0, "fp": 0, "fn": 0} for a in AT}
    for show, buys in test:
        final = len(buys) / show.capacity
        for lead in AT:
            now = show.starts_at - dt.timedelta(days=lead)
            row = {"screening_id": 0, "movie_id": show.movie, "auditorium_id": show.auditorium,
                   "weekday": show.weekday, "hour": show.hour, "capacity": show.capacity,
                   "sold": sum(b <= now for b in buys), "starts_at": show.starts_at}
            ours, naive = predict(model, history, row, now), predict(NAIVE, history, row, now)
            errors["model"][lead].append(abs(ours["predicted_occupancy"] - 100 * final))
            errors["similar"][lead].append(abs(naive["predicted_occupancy"] - 100 * final))
            errors["sold"][lead].append(abs(100 * row["sold"] / show.capacity - 100 * final))
            real = final >= HOUSEFUL
            flags[lead]["tp"] += ours["likely_houseful"] and real
            flags[lead]["fp"] += ours["likely_houseful"] and not real
            flags[lead]["fn"] += real and not ours["likely_houseful"]
    mae = {m: {a: float(np.mean(v)) for a, v in by.items()} for m, by in errors.items()}
    return {"mae": mae, "train": len(train), "test": len(test), "rows": model.rows, "fit_seconds": fit_seconds,
            "coef": dict(zip(("sold", "similar", "similar_now", "pickup"), model.coef)),
            "intercept": model.intercept, "flags": flags,
            "houseful_share": float(np.mean([len(b) / s.capacity >= HOUSEFUL for s, b in test]))}


def markdown(r: dict[str, Any]) -> str:
    """The RESULTS.md section."""
    mae = r["mae"]
    coef = ", ".join(f"{k} {v:+.3f}" for k, v in r["coef"].items())
    lines = [
        BEGIN, "## Sell-out forecast: backtest", "",
        f"`python -m bench.forecast_backtest` (run {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC). Simulated "
        f"history (server/domain/sales_sim.py, seed {SEED}): {FILMS} films, {len(SCREENS)} screens, {len(HOURS)} shows "
        f"a day each, {DAYS} days; fitted on the first {TRAIN_DAYS} days ({r['train']} screenings, {r['rows']} rows, "
        f"{1000 * r['fit_seconds']:.0f} ms), judged on the last {DAYS - TRAIN_DAYS} ({r['test']} screenings, "
        f"{100 * r['houseful_share']:.0f} % of them houseful). Mean absolute error of the final occupancy, in "
        "percentage points; baselines computed in the same run.", "",
        "| predicted | T−7 days | T−1 day | model ÷ baseline at T−7 / T−1 |", "| --- | --- | --- | --- |",
        f"| forecast (linear model) | {mae['model'][7.0]:.1f} | {mae['model'][1.0]:.1f} | |",
    ]
    for name, label in (("similar", "baseline: similar screenings' final occupancy"),
                        ("sold", "baseline: sold so far (no more sales)")):
        lines.append(f"| {label} | {mae[name][7.0]:.1f} | {mae[name][1.0]:.1f} | "
                     f"{100 * mae['model'][7.0] / mae[name][7.0]:.0f} % / {100 * mae['model'][1.0] / mae[name][1.0]:.0f} % |")
    lines.append("")
    for lead, f in r["flags"].items():
        lines.append(f"- likely sell-out flag (predicted ≥ {100 * LIKELY:.0f} %; houseful = ≥ {100 * HOUSEFUL:.0f} % "
                     f"sold) at T−{lead:g} days: {f['tp']} right, {f['fp']} false alarms, {f['fn']} missed.")
    lines += ["", f"Fitted coefficients: {coef}, intercept {r['intercept']:+.3f}.", END]
    return "\n".join(lines)


def write(section: str) -> None:
    """Replace (or append) the section in bench/RESULTS.md."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else text.rstrip() + "\n\n" + section + "\n"
    RESULTS.write_text(text)


if __name__ == "__main__":
    section = markdown(run())
    write(section)
    print(section)
