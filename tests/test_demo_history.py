"""The demo's simulated sales history: loaded once, deterministic, shows up in the monthly report
and gives the forecast similar screenings to learn from."""
from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

from server import demo_history, keys
from server.clock import Clock
from server.domain import forecasts
from server.domain.monthly import Month, monthly
from server.domain.sales_sim import SalesSimulator, SimShow
from tests.test_demo import loaded, pool  # noqa: F401 (fixtures)


def test_the_generator_is_deterministic_and_never_oversells() -> None:
    show = SimShow(2, 0, 80, dt.datetime(2031, 3, 7, 19, tzinfo=dt.timezone.utc), 5, 19, 3)
    first = [SalesSimulator(7, 5).buying_times(show) for _ in range(1)][0]
    assert first == SalesSimulator(7, 5).buying_times(show)
    assert len(first) <= 80 and first == sorted(first) and all(t < show.starts_at for t in first)


async def test_the_history_loads_once_and_feeds_reports_and_the_forecast(
    loaded: asyncpg.Pool, clock: Clock, client: Any  # noqa: F811
) -> None:
    sold = await demo_history.load(loaded, clock)
    assert sold > 1000
    assert await demo_history.load(loaded, clock) == 0
    now = clock.now()
    past = await loaded.fetchval("SELECT count(*) FROM ticket WHERE created_at > $1", now)
    assert past == 0  # every simulated ticket was bought before now
    sql = client.app[keys.QUERIES]
    curves = await forecasts.curves(loaded, sql.forecast, now)
    assert len(curves) >= demo_history.HISTORY_DAYS * 10
    model = await forecasts.refit(loaded, sql.forecast, now)
    assert model.rows > 0
    body = await forecasts.forecasts(loaded, sql.forecast, now, None)
    assert body["screenings"] and all(s["similar"]["screenings"] > 0 for s in body["screenings"])
    yesterday = (now - dt.timedelta(days=1)).date()
    report = await monthly(loaded, sql.monthly, None, Month(yesterday.replace(day=1)), now, "GBP")
    assert report["summary"]["tickets"] > 0
