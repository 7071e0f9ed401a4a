"""The demo catalog of "Houseful Cinemas": loaded into an empty database by `run.py serve --demo`.

Everything is fixed or drawn from a seeded random generator, so every demo looks the same
except for the dates: screenings fill seven whole London days, starting with the day the demo is
loaded on (its earlier shows included, so staff always see today's full programme).
Regenerate the posters with `python -m server.demo posters`.
"""
from __future__ import annotations

import datetime as dt
import random
import sys
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from types import SimpleNamespace
from typing import NamedTuple

import asyncpg
import orjson

from server import zones
from server.clock import Clock
from server.config import ROOT
from server.demo_layouts import LAYOUTS, DemoSeat, poster_svg
from server.queries import load_queries

# Any constant works; every process that loads the demo must use the same one.
DEMO_LOCK = 7_201_944_114
SEED = 20_240_501
POSTERS = ROOT / "static" / "posters"


TIME_ZONE = "Europe/London"  # every demo cinema is British
LONDON = zones.zone(TIME_ZONE)
CLEANING = dt.timedelta(minutes=20)
FIRST_SHOW = dt.time(10, 30)
LAST_SHOW = dt.time(21, 45)
DAYS = 7

GENRES = ("Action", "Adventure", "Animation", "Comedy", "Crime", "Documentary", "Drama",
          "Family", "Fantasy", "Horror", "Romance", "Science Fiction", "Thriller")


class DemoMovie(NamedTuple):
    slug: str
    title: str
    director: str
    cast: tuple[str, ...]
    synopsis: str
    runtime: int
    certificate: str
    score: str
    released_days_ago: int
    genres: tuple[str, ...]
    colours: tuple[str, str, str]  # poster gradient top, bottom, motif accent
    motif: str


MOVIES = (
    DemoMovie("orbit-of-ash", "Orbit of Ash", "Saoirse Delacroix-Hale",
              ("Tomas Adebayo", "Ines Vukovic", "Rhys Calloway"),
              "When the last deep-space freighter loses its course home, a disgraced pilot has nine days "
              "to steer six hundred sleepers past a dying star.",
              142, "12A", "8.4", 0, ("Science Fiction", "Action", "Adventure"),
              ("#0b1d3a", "#d9480f", "#ffb347"), "sun"),
    DemoMovie("the-lantern-keepers", "The Lantern Keepers", "Mabel Okonkwo-Reid", ("Poppy Larkspur", "Idris Fenwick"),
              "Two siblings inherit a lighthouse whose lamps keep the sea's oldest creatures asleep, "
              "and one winter night the lamps start to go out.",
              94, "U", "7.6", 21, ("Animation", "Family", "Adventure"), ("#123c69", "#ac3b61", "#f9d56e"), "rings"),
    DemoMovie("tidewater", "Tidewater", "Callum Brightwater", ("Niamh Ashcombe", "Dev Malhotra", "Grace Ettrick"),
              "A coastguard in a Norfolk village finds a drifting yacht with the table laid for four "
              "and nobody aboard.",
              118, "15", "7.9", 14, ("Drama", "Thriller"), ("#1b3a4b", "#3a7ca5", "#d9dcd6"), "waves"),
    DemoMovie("marrow-lane", "Marrow Lane", "Petra Vance", ("Owen Gallagher", "Lucía Ferreira"),
              "A young couple buy the cheapest house in a terrace in Leeds. The neighbours will not "
              "say why, and the wallpaper keeps growing back.",
              101, "18", "6.8", 10, ("Horror", "Thriller"), ("#0d0d0d", "#5c1a1b", "#a4161a"), "window"),
    DemoMovie("a-very-british-heist", "A Very British Heist", "Rupert Oyelaran",
              ("Harriet Quill", "Benedict Marsh", "Sunny Kaur"),
              "A retired tea-room owner and her bridge club plan to rob the bank that foreclosed on "
              "their village hall, during the Christmas pantomime.",
              109, "12A", "7.2", 28, ("Comedy", "Crime"), ("#2d6a4f", "#081c15", "#d8f3dc"), "bars"),
    DemoMovie("second-spring", "Second Spring", "Anouk Fairley", ("Eleanor Hartigan", "Marcus Oduya"),
              "Two widowed allotment neighbours in Bristol fall, slowly and very stubbornly, in love.",
              112, "12A", "7.4", 35, ("Romance", "Drama", "Comedy"), ("#ffafcc", "#6d597a", "#fff1e6"), "sun"),
    DemoMovie("quiet-engines", "Quiet Engines", "Jonah Whitlock", ("Narrated by Ada Penrose",),
              "A documentary about the engineers restoring Britain's last working steam pumping "
              "stations, and the towns that grew up around them.",
              88, "PG", "8.1", 42, ("Documentary",), ("#495057", "#212529", "#f4a261"), "bars"),
    DemoMovie("the-glass-cartographer", "The Glass Cartographer", "Lin Adeyemi-Hart",
              ("Isla Montgomery", "Kwame Asante", "Fen Doyle"),
              "An apprentice mapmaker discovers that the maps she draws on glass become real, "
              "and that someone else has been drawing them first.",
              126, "PG", "8.0", 7, ("Fantasy", "Adventure", "Family"), ("#3c096c", "#10002b", "#c77dff"), "peaks"),
    DemoMovie("night-shift-at-the-observatory", "Night Shift at the Observatory", "Declan Moss-Amari",
              ("Priya Castellano", "Tom Ridley", "Beatrix Onu"),
              "Three underpaid night staff at a Highland observatory fake a first-contact signal to "
              "save it from closure, and then somebody answers.",
              97, "12A", "7.0", 3, ("Comedy", "Science Fiction"), ("#03045e", "#0077b6", "#90e0ef"), "rings"),
    DemoMovie("ironbridge", "Ironbridge", "Viktor Ashdown", ("Sol Fairweather", "Maren Kincaid", "Jude Achebe"),
              "A former bomb-disposal officer has one night to stop a gang holding a Shropshire "
              "valley to ransom from the oldest iron bridge in the world.",
              131, "15", "7.3", 17, ("Action", "Thriller", "Crime"), ("#2b2d42", "#8d99ae", "#ef233c"), "bars"),
    DemoMovie("paper-boats", "Paper Boats", "Hana Whitcombe", ("Alfie Brennan", "Rosa Mbeki", "Gus the Goose"),
              "A paper boat folded from a lost school letter sails the canals of Birmingham to find "
              "the girl who wrote it.",
              85, "U", "7.7", 24, ("Animation", "Family", "Comedy"), ("#48cae4", "#0096c7", "#ffffff"), "waves"),
    DemoMovie("dunmore", "Dunmore", "Fiona Carrick", ("Ewan Lachlan", "Morag Sinclair", "Rafe Dunbar"),
              "In 1746, a Highland estate's factor must choose between the clan that raised him and "
              "the redcoats who hold his sister's life.",
              137, "15", "8.2", 49, ("Drama", "Romance"), ("#283618", "#606c38", "#dda15e"), "peaks"),
)


class DemoAuditorium(NamedTuple):
    name: str
    category: str
    layout: str
    stagger: int  # minutes after FIRST_SHOW of the first show, so screens do not all start together
    programme: tuple[str, ...]  # movie slugs this screen shows


class DemoCinema(NamedTuple):
    name: str
    city: str
    address: str
    latitude: float
    longitude: float
    rating: str
    auditoriums: tuple[DemoAuditorium, ...]


_MAINSTREAM = ("the-lantern-keepers", "tidewater", "a-very-british-heist", "second-spring",
               "the-glass-cartographer", "night-shift-at-the-observatory", "ironbridge", "paper-boats")
CINEMAS = (
    DemoCinema("Houseful Leicester Square", "London", "12 Irving Street, London WC2H 7AU", 51.5105, -0.1297, "4.6", (
        # The rush-release target: the blockbuster all day long on the 520-seat screen.
        DemoAuditorium("Screen 1", "imax", "grand", 0, ("orbit-of-ash",)),
        DemoAuditorium("Screen 2", "dolby", "studio", 15, _MAINSTREAM + ("marrow-lane",)),
        DemoAuditorium("Screen 3", "premium", "club", 30, ("quiet-engines", "second-spring", "dunmore", "tidewater")),
    )),
    DemoCinema("Houseful Deansgate", "Manchester", "201 Deansgate, Manchester M3 3NW", 53.4794, -2.2497, "4.3", (
        DemoAuditorium("Screen 1", "standard", "studio", 0, _MAINSTREAM + ("orbit-of-ash", "marrow-lane")),
        DemoAuditorium("Screen 2", "premium", "club", 20, ("dunmore", "quiet-engines", "paper-boats", "ironbridge")),
    )),
    DemoCinema("Houseful Lothian Road", "Edinburgh", "120 Lothian Road, Edinburgh EH3 9BE", 55.9463, -3.2058, "4.5", (
        DemoAuditorium("Screen 1", "dolby", "studio", 10, ("orbit-of-ash", "dunmore", "the-glass-cartographer",
                                                           "night-shift-at-the-observatory", "paper-boats")),
        DemoAuditorium("Screen 2", "standard", "club", 25, ("marrow-lane", "quiet-engines", "the-lantern-keepers",
                                                            "a-very-british-heist", "second-spring")),
    )),
)

# Off-peak standard seat price in pence per auditorium category; peak adds PEAK, VIP adds VIP_EXTRA.
STANDARD_PRICE = {"standard": 1150, "premium": 1250, "dolby": 1300, "imax": 1350, "3d": 1300}
PEAK = 100
VIP_EXTRA = 700


class DemoScreening(NamedTuple):
    auditorium: tuple[int, int]  # (cinema index, auditorium index)
    slug: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    prices: dict[str, int]


def poster_url(slug: str) -> str:
    """Where the app serves a demo movie's poster."""
    return f"/static/posters/{slug}.svg"


def write_posters(folder: Path = POSTERS) -> list[Path]:
    """Draw every demo movie's poster into folder (the results are committed)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for movie in MOVIES:
        path = folder / f"{movie.slug}.svg"
        path.write_text(poster_svg(movie.title, movie.director, movie.certificate, movie.colours, movie.motif))
        written.append(path)
    return written


def allowed_at(certificate: str, local: dt.time) -> bool:
    """Family films play before the evening, 18s only late, like a real cinema's listings."""
    if certificate == "18":
        return local >= dt.time(19, 0)
    if certificate == "15":
        return local >= dt.time(13, 0)
    if certificate == "U":
        return local < dt.time(18, 0)
    return True


def prices_for(category: str, kinds: set[str], local: dt.datetime) -> dict[str, int]:
    """Pence per seat kind present; evenings and weekends are peak."""
    standard = STANDARD_PRICE[category] + (PEAK if local.weekday() >= 5 or local.hour >= 17 else 0)
    tariff = {"standard": standard, "vip": standard + VIP_EXTRA, "wheelchair": standard, "companion": standard}
    return {kind: tariff[kind] for kind in sorted(kinds)}


def _next_start(after: dt.datetime) -> dt.datetime:
    """The next quarter hour at or after a moment (listings start on the quarter)."""
    minutes = -(-(after.hour * 60 + after.minute + (after.second > 0)) // 15) * 15
    return after.replace(hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(minutes=minutes)


def _day_shows(
    rng: random.Random, day: dt.date, auditorium: DemoAuditorium
) -> list[tuple[str, dt.datetime, dt.datetime]]:
    """One auditorium's shows on one local day: runtime plus cleaning between, never overlapping."""
    runtimes = {m.slug: m for m in MOVIES}
    shows = []
    local = dt.datetime.combine(day, FIRST_SHOW, tzinfo=LONDON) + dt.timedelta(minutes=auditorium.stagger)
    previous = ""
    while local.time() <= LAST_SHOW and local.date() == day:
        choices = [s for s in auditorium.programme if allowed_at(runtimes[s].certificate, local.time())]
        fresh = [s for s in choices if s != previous] or choices
        slug = rng.choice(fresh)
        ends = local + dt.timedelta(minutes=runtimes[slug].runtime)
        shows.append((slug, local, ends))
        previous = slug
        local = _next_start(ends + CLEANING)
    return shows


def timetable(today: dt.date, kinds: dict[tuple[int, int], set[str]]) -> list[DemoScreening]:
    """Every show of DAYS whole London days from `today` (those already over too), in UTC."""
    rng = random.Random(SEED)
    screenings = []
    for offset in range(DAYS):
        day = today + dt.timedelta(days=offset)
        for c, cinema in enumerate(CINEMAS):
            for a, auditorium in enumerate(cinema.auditoriums):
                for slug, local, ends in _day_shows(rng, day, auditorium):
                    prices = prices_for(auditorium.category, kinds[(c, a)], local)
                    screenings.append(DemoScreening((c, a), slug, local.astimezone(dt.timezone.utc),
                                                    ends.astimezone(dt.timezone.utc), prices))
    return screenings


@lru_cache(maxsize=1)
def _queries() -> SimpleNamespace:
    return load_queries().demo


async def _load_movies(conn: asyncpg.Connection, q: SimpleNamespace, today: dt.date) -> dict[str, int]:
    genre_ids = {r["name"]: r["id"] for r in await conn.fetch(q.demo_genres_upsert, list(GENRES))}
    movie_ids: dict[str, int] = {}
    links: list[tuple[int, int]] = []
    for m in MOVIES:
        movie_ids[m.slug] = await conn.fetchval(
            q.demo_movie_insert, m.title, m.director, list(m.cast), m.synopsis, m.runtime, m.certificate,
            Decimal(m.score), today - dt.timedelta(days=m.released_days_ago), poster_url(m.slug),
        )
        links += [(movie_ids[m.slug], genre_ids[g]) for g in m.genres]
    await conn.execute(q.demo_movie_genres_insert, [m for m, _ in links], [g for _, g in links])
    return movie_ids


async def _load_seats(conn: asyncpg.Connection, q: SimpleNamespace, auditorium_id: int, seats: list[DemoSeat]) -> None:
    await conn.execute(
        q.demo_seats_insert, auditorium_id, [s.row_label for s in seats], [s.number for s in seats],
        [s.x for s in seats], [s.y for s in seats], [s.kind for s in seats], [s.blocked for s in seats],
    )
    companions = [s for s in seats if s.companion_of is not None]
    await conn.execute(q.demo_companions_link, auditorium_id, [s.row_label for s in companions],
                       [s.number for s in companions], [s.companion_of for s in companions])


async def _load_cinemas(
    conn: asyncpg.Connection, q: SimpleNamespace
) -> tuple[dict[tuple[int, int], int], dict[tuple[int, int], set[str]]]:
    """Cinemas, auditoriums and seats; returns auditorium ids and seat kinds by (cinema, auditorium) index."""
    ids: dict[tuple[int, int], int] = {}
    kinds: dict[tuple[int, int], set[str]] = {}
    for c, cinema in enumerate(CINEMAS):
        cinema_id = await conn.fetchval(q.demo_cinema_insert, cinema.name, cinema.city, cinema.address,
                                        cinema.latitude, cinema.longitude, Decimal(cinema.rating), TIME_ZONE)
        for a, auditorium in enumerate(cinema.auditoriums):
            ids[(c, a)] = await conn.fetchval(q.demo_auditorium_insert, cinema_id, auditorium.name,
                                              auditorium.category)
            seats = LAYOUTS[auditorium.layout]()
            await _load_seats(conn, q, ids[(c, a)], seats)
            kinds[(c, a)] = {s.kind for s in seats}
    return ids, kinds


async def load_if_empty(pool: asyncpg.Pool, clock: Clock) -> bool:
    """Load the demo catalog in one transaction when there is no cinema yet; True if it loaded."""
    q = _queries()
    today = zones.local_date(clock.now(), TIME_ZONE)
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(q.demo_lock, DEMO_LOCK)
        if await conn.fetchval(q.demo_has_cinema):
            return False
        movie_ids = await _load_movies(conn, q, today)
        auditorium_ids, kinds = await _load_cinemas(conn, q)
        shows = timetable(today, kinds)
        await conn.execute(
            q.demo_screenings_insert, [auditorium_ids[s.auditorium] for s in shows],
            [movie_ids[s.slug] for s in shows], [s.starts_at for s in shows], [s.ends_at for s in shows],
            [orjson.dumps(s.prices).decode() for s in shows],
        )
    return True


if __name__ == "__main__":
    if sys.argv[1:] == ["posters"]:
        for written in write_posters():
            print(written.relative_to(ROOT))
    else:
        print("usage: python -m server.demo posters", file=sys.stderr)
        sys.exit(2)
