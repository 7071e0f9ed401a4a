"""The sell-out forecast against PostgreSQL: history curves, upcoming screenings, the stored model.

Fitting (scikit-learn: seconds, with its import) runs in a worker thread in the hourly job
(server/messaging/jobs.py) and after the demo's history loads; a request only reads the newest
stored coefficients, and before any fit uses NAIVE (similar screenings' final occupancy).
"""
from __future__ import annotations

import asyncio
import datetime as dt
from types import SimpleNamespace
from typing import Any

import asyncpg

from server.domain.forecast import LEADS, NAIVE, Curve, History, Model, fit, predict

HISTORY_DAYS = 120  # past screenings the forecast learns from
HORIZON_DAYS = 30  # upcoming screenings it forecasts


async def curves(pool: asyncpg.Pool, sql: SimpleNamespace, now: dt.datetime) -> list[Curve]:
    """Sales curves of screenings that started in the last HISTORY_DAYS."""
    rows = await pool.fetch(sql.forecast_curves, now - dt.timedelta(days=HISTORY_DAYS), now, list(LEADS))
    return [Curve(r["screening_id"], r["movie_id"], r["auditorium_id"], r["weekday"], r["hour"], r["capacity"],
                  tuple(r["sold_at"])) for r in rows]


async def refit(pool: asyncpg.Pool, sql: SimpleNamespace, now: dt.datetime) -> Model:
    """Fit on the current history (in a thread) and store the model."""
    model = await asyncio.to_thread(fit, await curves(pool, sql, now))
    await pool.execute(sql.model_store, now, model.to_json())
    return model


async def forecasts(pool: asyncpg.Pool, sql: SimpleNamespace, now: dt.datetime,
                    cinema_id: int | None) -> dict[str, Any]:
    """Every upcoming screening's forecast (next HORIZON_DAYS), with the model that made them."""
    stored = await pool.fetchrow(sql.model_latest)
    # Never fitted yet (a new system, before the job's first hour): similar screenings' average.
    model = Model.from_json(stored["model"]) if stored else NAIVE
    history = History.of(await curves(pool, sql, now))
    shows = [dict(r) for r in await pool.fetch(sql.forecast_upcoming, now, HORIZON_DAYS, cinema_id)]
    out = []
    for show in shows:
        out.append({**{k: show[k] for k in ("movie", "cinema", "cinema_id", "auditorium", "time_zone")},
                    "starts_at": show["starts_at"].isoformat(), **predict(model, history, show, now)})
    return {"model": {**model.to_json(), "fitted_at": stored["fitted_at"].isoformat() if stored else None},
            "screenings": out}
