"""The demo catalog: loads once, looks like a real chain, and its timetable is sound."""
from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any, AsyncIterator

import asyncpg
import orjson
import pytest

from server import db, demo, keys
from server.clock import Clock
from server.config import ROOT, Settings
from tests.support.clocks import at_any_hour


@pytest.fixture
async def pool(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    """The app's own kind of pool (orjson codecs) on the run's emptied database."""
    pool = await db.create_pool(settings)
    yield pool
    await pool.close()


@pytest.fixture
async def loaded(pool: asyncpg.Pool, clock: Clock) -> asyncpg.Pool:
    """A database holding the demo catalog, loaded at the test's clock."""
    assert await demo.load_if_empty(pool, clock) is True
    return pool


async def _counts(conn: asyncpg.Pool | asyncpg.Connection) -> dict[str, int]:
    row = await conn.fetchrow(
        "SELECT (SELECT count(*) FROM cinema) AS cinemas, (SELECT count(*) FROM auditorium) AS auditoriums,"
        " (SELECT count(*) FROM seat) AS seats, (SELECT count(*) FROM movie) AS movies,"
        " (SELECT count(*) FROM genre) AS genres, (SELECT count(*) FROM screening) AS screenings"
    )
    return dict(row)


async def test_loads_once_and_a_second_call_adds_nothing(loaded: asyncpg.Pool, clock: Clock) -> None:
    before = await _counts(loaded)
    assert await demo.load_if_empty(loaded, clock) is False
    assert await _counts(loaded) == before


async def test_two_processes_starting_at_once_load_it_once(settings: Settings, clock: Clock) -> None:
    # Separate pools stand for separate processes; the advisory lock makes one wait for the other.
    pools = [await db.create_pool(settings) for _ in range(2)]
    try:
        results = await asyncio.gather(*(demo.load_if_empty(p, clock) for p in pools))
        assert sorted(results) == [False, True]
        assert (await _counts(pools[0]))["cinemas"] == len(demo.CINEMAS)
    finally:
        for p in pools:
            await p.close()


async def test_nothing_loads_into_a_catalog_that_has_a_cinema(pool: asyncpg.Pool, clock: Clock) -> None:
    await pool.execute("INSERT INTO cinema (name, city, latitude, longitude, time_zone)"
                       " VALUES ('Own', 'York', 53.96, -1.08, 'Europe/London')")
    assert await demo.load_if_empty(pool, clock) is False
    assert await _counts(pool) == {"cinemas": 1, "auditoriums": 0, "seats": 0, "movies": 0, "genres": 0,
                                   "screenings": 0}


async def test_catalog_looks_like_a_chain(loaded: asyncpg.Pool) -> None:
    counts = await _counts(loaded)
    assert counts["cinemas"] >= 3 and counts["auditoriums"] >= 4
    assert counts["movies"] >= 10 and counts["genres"] >= 8
    assert await loaded.fetchval("SELECT count(DISTINCT city) FROM cinema") >= 3
    sizes = [r["n"] for r in await loaded.fetch("SELECT count(*) AS n FROM seat GROUP BY auditorium_id")]
    assert any(450 <= n <= 550 for n in sizes)
    categories = {r["category"] for r in await loaded.fetch("SELECT DISTINCT category FROM auditorium")}
    assert {"standard", "premium", "imax", "dolby"} <= categories
    # Every movie is in at least one genre, and between them they cover several.
    assert await loaded.fetchval(
        "SELECT count(*) FROM movie m WHERE NOT EXISTS (SELECT 1 FROM movie_genre g WHERE g.movie_id = m.id)"
    ) == 0
    assert await loaded.fetchval("SELECT count(DISTINCT genre_id) FROM movie_genre") >= 8


async def test_the_big_screen_has_vip_rows_aisles_and_blocked_seats(loaded: asyncpg.Pool) -> None:
    big = await loaded.fetchval(
        "SELECT auditorium_id FROM seat GROUP BY auditorium_id HAVING count(*) BETWEEN 450 AND 550"
    )
    rows = await loaded.fetch(
        "SELECT row_label, array_agg(kind ORDER BY number) AS kinds, array_agg(x ORDER BY number) AS xs"
        " FROM seat WHERE auditorium_id = $1 GROUP BY row_label ORDER BY row_label", big,
    )
    assert [r["row_label"] for r in rows] == [chr(ord("A") + i) for i in range(20)]
    assert [all(k == "vip" for k in r["kinds"]) for r in rows[-3:]] == [True] * 3
    assert not any("vip" in r["kinds"] for r in rows[:-3])
    # Two side aisles and a centre aisle: three gaps in x along every row.
    for r in rows:
        assert sum(1 for a, b in zip(r["xs"], r["xs"][1:]) if b - a > 1) == 3
    assert await loaded.fetchval("SELECT count(*) FROM seat WHERE auditorium_id = $1 AND blocked", big) >= 2
    ys = await loaded.fetch("SELECT DISTINCT row_label, y FROM seat WHERE auditorium_id = $1", big)
    assert {r["row_label"]: r["y"] for r in ys}["A"] == 0


async def test_every_wheelchair_place_has_a_companion_beside_it(loaded: asyncpg.Pool) -> None:
    places = await loaded.fetch(
        "SELECT w.id, w.auditorium_id, count(c.id) AS companions,"
        " bool_and(c.row_label = w.row_label AND abs(c.number - w.number) = 1 AND abs(c.x - w.x) = 1) AS beside"
        " FROM seat w LEFT JOIN seat c ON c.companion_of = w.id"
        " WHERE w.kind = 'wheelchair' GROUP BY w.id"
    )
    assert len(places) >= 4 and all(p["companions"] == 1 and p["beside"] for p in places)
    big = max(await loaded.fetch("SELECT auditorium_id, count(*) AS n FROM seat GROUP BY auditorium_id"),
              key=lambda r: r["n"])["auditorium_id"]
    assert sum(1 for p in places if p["auditorium_id"] == big) == 4
    # No companion seat is left pointing nowhere.
    assert await loaded.fetchval(
        "SELECT count(*) FROM seat WHERE kind = 'companion' AND companion_of IS NULL"
    ) == 0


@at_any_hour
async def test_screenings_fill_seven_whole_london_days_from_today(loaded: asyncpg.Pool, clock: Clock) -> None:
    today = clock.now().astimezone(demo.LONDON).date()
    days = await loaded.fetch(
        "SELECT (starts_at AT TIME ZONE 'Europe/London')::date AS day, min((starts_at AT TIME ZONE"
        " 'Europe/London')::time) AS first FROM screening GROUP BY 1 ORDER BY 1")
    # Today's whole programme (its earlier shows too, whatever the hour), then the next six days.
    assert [r["day"] for r in days] == [today + dt.timedelta(days=n) for n in range(7)]
    assert {r["first"] for r in days} == {demo.FIRST_SHOW}
    # Cleaning time between shows in one auditorium, never an overlap.
    assert await loaded.fetchval(
        "SELECT count(*) FROM screening a JOIN screening b ON a.auditorium_id = b.auditorium_id AND a.id < b.id"
        " WHERE tstzrange(a.starts_at, a.ends_at + interval '20 minutes')"
        "    && tstzrange(b.starts_at, b.ends_at + interval '20 minutes')"
    ) == 0
    # Each runs exactly as long as its movie, and every auditorium gets shows every day.
    assert await loaded.fetchval(
        "SELECT count(*) FROM screening s JOIN movie m ON m.id = s.movie_id"
        " WHERE s.ends_at - s.starts_at <> make_interval(mins => m.runtime_minutes)"
    ) == 0
    assert await loaded.fetchval(
        "SELECT count(DISTINCT (auditorium_id, (starts_at AT TIME ZONE 'Europe/London')::date)) FROM screening"
    ) >= (await _counts(loaded))["auditoriums"] * 7
    assert await loaded.fetchval("SELECT bool_and(orphan_rule AND status = 'scheduled') FROM screening")


async def test_shows_start_at_listing_times(loaded: asyncpg.Pool) -> None:
    local = await loaded.fetch("SELECT (starts_at AT TIME ZONE 'Europe/London')::time AS t FROM screening")
    times = {r["t"] for r in local}
    assert all(t.minute % 5 == 0 and dt.time(10, 0) <= t <= dt.time(22, 0) for t in times)


async def test_every_screening_prices_each_seat_kind_in_its_auditorium(loaded: asyncpg.Pool) -> None:
    rows = await loaded.fetch(
        "SELECT s.id, s.prices, (SELECT array_agg(DISTINCT kind) FROM seat WHERE auditorium_id = s.auditorium_id)"
        " AS kinds, (s.starts_at AT TIME ZONE 'Europe/London') AS local FROM screening s"
    )
    assert rows
    for r in rows:
        prices = r["prices"] if isinstance(r["prices"], dict) else orjson.loads(r["prices"])
        assert set(prices) == set(r["kinds"])
        assert 1150 <= prices["standard"] <= 1450
        assert prices.get("wheelchair", prices["standard"]) == prices["standard"]
        assert prices.get("companion", prices["standard"]) == prices["standard"]
        if "vip" in prices:
            assert 1800 <= prices["vip"] <= 2200
    # Peak (evenings and weekends) costs a little more than off-peak in the same auditorium.
    peak = {r["local"].weekday() >= 5 or r["local"].hour >= 17 for r in rows}
    assert peak == {True, False}


async def test_every_poster_is_a_committed_file(loaded: asyncpg.Pool) -> None:
    urls = [r["poster_url"] for r in await loaded.fetch("SELECT poster_url FROM movie")]
    assert urls and all(u.startswith("/static/posters/") for u in urls)
    for url in urls:
        path = ROOT / url.lstrip("/")
        assert path.is_file(), url
        assert path.read_text().startswith("<svg")


def test_committed_posters_match_the_generator(tmp_path: Path) -> None:
    for fresh in demo.write_posters(tmp_path):
        assert fresh.read_text() == (demo.POSTERS / fresh.name).read_text(), "rerun: python -m server.demo posters"


def test_the_timetable_is_the_same_every_time() -> None:
    today = dt.date(2025, 3, 28)  # the week spans the spring clock change
    kinds = {(c, a): {"standard"} for c, cinema in enumerate(demo.CINEMAS) for a in range(len(cinema.auditoriums))}
    first, second = demo.timetable(today, kinds), demo.timetable(today, kinds)
    assert first == second
    # Local listing times survive the clock change: 10:30 is 10:30 in London before and after it.
    firsts: dict[dt.date, dt.time] = {}
    for s in first:
        local = s.starts_at.astimezone(demo.LONDON)
        if s.auditorium == (0, 0):
            firsts[local.date()] = min(firsts.get(local.date(), local.time()), local.time())
    assert len(firsts) == 7 and set(firsts.values()) == {dt.time(10, 30)}
    assert {s.starts_at.utcoffset() for s in first} == {dt.timedelta(0)}


def test_demo_seat_maps_pass_the_admin_seat_map_rules() -> None:
    from server.demo_layouts import LAYOUTS
    from server.domain.catalog import seatmap

    for build in LAYOUTS.values():
        seats = build()
        specs = [seatmap.SeatSpec(s.row_label, s.number, s.x, s.y, s.kind, s.blocked,
                                  (s.row_label, s.companion_of) if s.companion_of else None) for s in seats]
        assert seatmap.validate(specs) == specs


@at_any_hour
async def test_staff_see_todays_full_programme_at_any_hour(client: Any, make_user: Any, clock: Clock) -> None:
    pool = client.app[keys.DB]
    assert await demo.load_if_empty(pool, clock)
    today = clock.now().astimezone(demo.LONDON).date()
    expected = await pool.fetch(
        "SELECT id FROM screening WHERE (starts_at AT TIME ZONE 'Europe/London')::date = $1 ORDER BY starts_at, id",
        today)
    staff = await make_user("staff")
    # No date: the server decides which day is today (London's, where the demo cinemas are).
    resp = await client.get("/api/dashboard/occupancy", headers=staff["headers"])
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["filter"]["from"] == body["filter"]["to"] == today.isoformat()
    assert len(expected) >= 20
    assert sorted(r["screening_id"] for r in body["screenings"]) == sorted(r["id"] for r in expected)
    first = min(dt.datetime.fromisoformat(r["starts_at"]) for r in body["screenings"])
    assert first.astimezone(demo.LONDON).time() == demo.FIRST_SHOW
    assert {r["time_zone"] for r in body["screenings"]} == {"Europe/London"}
