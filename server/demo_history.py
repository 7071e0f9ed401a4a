"""The demo's sales history: past screenings with simulated ticket sales, for reports and the forecast.

`run.py demo-history` (and `run.py serve --demo` right after it loads a fresh demo catalog) adds
HISTORY_DAYS days of past screenings on the demo timetable before today, each with tickets
bought at the times server/domain/sales_sim.py draws (seed SEED): the monthly report then has a
month to show and the sell-out forecast similar screenings to learn from. Loaded once (an
advisory lock and the simulated buyer's account say whether it is there).
"""
from __future__ import annotations

import datetime as dt
import random

import asyncpg
import orjson

from server import demo, zones
from server.clock import Clock
from server.domain import forecasts
from server.domain.sales_sim import SalesSimulator, SimShow
from server.queries import load_queries

HISTORY_DAYS = 21
BATCH = 2000  # tickets per INSERT
SEED = 1_601
HISTORY_LOCK = 16_016
KEY_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def _shows(today: dt.date, kinds: dict[tuple[int, int], set[str]]) -> list[demo.DemoScreening]:
    """The demo timetable of the HISTORY_DAYS days before today (another seed than the live one)."""
    rng = random.Random(SEED)
    shows = []
    for offset in range(HISTORY_DAYS, 0, -1):
        day = today - dt.timedelta(days=offset)
        for c, cinema in enumerate(demo.CINEMAS):
            for a, auditorium in enumerate(cinema.auditoriums):
                for slug, local, ends in demo._day_shows(rng, day, auditorium):
                    prices = demo.prices_for(auditorium.category, kinds[(c, a)], local)
                    shows.append(demo.DemoScreening((c, a), slug, local.astimezone(dt.timezone.utc),
                                                    ends.astimezone(dt.timezone.utc), prices))
    return shows


async def load(pool: asyncpg.Pool, clock: Clock, currency: str = "GBP") -> int:
    """Load the history unless it is there; how many tickets were sold."""
    q = load_queries().demo
    today = zones.local_date(clock.now(), demo.TIME_ZONE)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(q.history_lock, HISTORY_LOCK)
        buyer = await conn.fetchval(q.history_user)
        if buyer is None:
            return 0
        rooms = {(r["cinema"], r["auditorium"]): r for r in await conn.fetch(q.history_auditoriums)}
        movies = {r["title"]: r["id"] for r in await conn.fetch(q.history_movies)}
        index = {(c, a): rooms[(cinema.name, aud.name)] for c, cinema in enumerate(demo.CINEMAS)
                 for a, aud in enumerate(cinema.auditoriums)}
        titles = {m.slug: m.title for m in demo.MOVIES}
        shows = _shows(today, {k: {"standard"} for k in index})
        ids = [r["id"] for r in await conn.fetch(
            q.history_screenings_insert, [index[s.auditorium]["id"] for s in shows],
            [movies[titles[s.slug]] for s in shows], [s.starts_at for s in shows], [s.ends_at for s in shows],
            [orjson.dumps(s.prices).decode() for s in shows])]
        sales = _sales(shows, ids, index, today)
        # In batches: each statement stays well inside database.command_timeout on a busy machine.
        for i in range(0, len(sales[0]), BATCH):
            await conn.execute(q.history_sales_insert, buyer, *(column[i:i + BATCH] for column in sales), currency)
    return len(sales[0])


def _sales(shows: list[demo.DemoScreening], ids: list[int], index: dict, today: dt.date) -> tuple[list, ...]:
    """Columns of the simulated one-seat orders: key, screening, seat, price, bought at."""
    slugs = [m.slug for m in demo.MOVIES]
    sim, rng = SalesSimulator(SEED, len(slugs)), random.Random(SEED + 1)
    columns: tuple[list, ...] = ([], [], [], [], [])
    for show, screening_id in zip(shows, ids):
        seats = index[show.auditorium]["seats"]
        local = show.starts_at.astimezone(demo.LONDON)
        film = slugs.index(show.slug)
        age = (local.date() - (today - dt.timedelta(days=HISTORY_DAYS))).days
        sim_show = SimShow(film, 0, len(seats), show.starts_at, local.isoweekday(), local.hour, age)
        for seat, bought in zip(rng.sample(seats, len(seats)), sim.buying_times(sim_show)):
            columns[0].append("".join(rng.choice(KEY_ALPHABET) for _ in range(12)))
            columns[1].append(screening_id)
            columns[2].append(seat)
            columns[3].append(show.prices["standard"])
            columns[4].append(bought)
    return columns


async def fit_forecast(pool: asyncpg.Pool, clock: Clock) -> None:
    """Fit the sell-out forecast on the history now rather than at the job's next hour."""
    await forecasts.refit(pool, load_queries().forecast, clock.now())
