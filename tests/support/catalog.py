"""Helpers shared by the catalog tests: build catalog data through the admin API."""
from __future__ import annotations

import datetime as dt
from typing import Any

LEEDS = (53.8008, -1.5491)
CITIES = {
    "London": (51.5072, -0.1276),
    "Manchester": (53.4808, -2.2426),
    "Edinburgh": (55.9533, -3.1883),
}


def iso(when: dt.datetime) -> str:
    """An aware datetime as ISO 8601 with Z."""
    return when.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def soon(days: int = 1, hour: int = 18) -> dt.datetime:
    """A whole hour some days from now, in UTC."""
    today = dt.datetime.now(dt.timezone.utc).replace(minute=0, second=0, microsecond=0)
    return (today + dt.timedelta(days=days)).replace(hour=hour)


async def post(client: Any, admin: dict[str, Any], path: str, body: Any, status: int = 201) -> Any:
    """POST as admin and expect `status`; the JSON reply."""
    resp = await client.post(path, json=body, headers=admin["headers"])
    data = await resp.json()
    assert resp.status == status, data
    return data


async def venue(client: Any, admin: dict[str, Any], city: str = "Leeds", grid: list[str] | None = None) -> dict[str, Any]:
    """A cinema with one auditorium built from a grid; {cinema, auditorium}."""
    lat, lon = CITIES.get(city, LEEDS)
    cinema = await post(client, admin, "/api/cinemas", {"name": f"Houseful {city}", "city": city,
                                                         "latitude": lat, "longitude": lon, "rating": 4.5})
    auditorium = await post(client, admin, "/api/auditoriums", {
        "cinema_id": cinema["id"], "name": "Screen 1",
        "grid": grid or ["SSS_SSS", "VVV_VVV", "WC__SSS"],
    })
    return {"cinema": cinema, "auditorium": auditorium}


async def movie(client: Any, admin: dict[str, Any], title: str = "The Long Night", runtime: int = 100,
                genre_ids: list[int] | None = None) -> dict[str, Any]:
    """A movie created through the API."""
    return await post(client, admin, "/api/movies", {"title": title, "runtime_minutes": runtime,
                                                     "genre_ids": genre_ids or []})


PRICES = {"standard": 1000, "vip": 1600, "wheelchair": 800, "companion": 800}


async def screening(client: Any, admin: dict[str, Any], auditorium_id: int, movie_id: int,
                    starts: dt.datetime, prices: dict[str, int] | None = None, status: int = 201) -> Any:
    """Schedule a screening through the API."""
    return await post(client, admin, "/api/screenings", {
        "auditorium_id": auditorium_id, "movie_id": movie_id, "starts_at": iso(starts),
        "prices": PRICES if prices is None else prices}, status)


async def sell(pg: Any, screening_id: int, seat_id: int, user_id: int) -> int:
    """Insert a paid order with one live ticket straight into PostgreSQL; the ticket id."""
    order_id = await pg.fetchval(
        "INSERT INTO orders (order_key, user_id, screening_id, status, amount, currency, seat_ids,"
        " idempotency_key, expires_at) VALUES ($1, $2, $3, 'paid', 1000, 'GBP', $4, $5, now())"
        " RETURNING id", f"ABCD{screening_id:04d}{seat_id % 100:02d}"[:12], user_id, screening_id,
        [seat_id], f"k{screening_id}-{seat_id}")
    return await pg.fetchval(
        "INSERT INTO ticket (order_id, screening_id, seat_id, price) VALUES ($1, $2, $3, 1000) RETURNING id",
        order_id, screening_id, seat_id)
