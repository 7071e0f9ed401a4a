"""The sell-out forecast on a tiny known history: a film that always sells out is flagged (and when),
one that sells a third is not; the API serves the forecast of upcoming screenings."""
from __future__ import annotations

import datetime as dt
from typing import Any

import asyncpg

from server.domain.forecast import LEADS, NAIVE, Curve, History, fit, predict
from tests.test_reports import place

NOW = dt.datetime(2031, 5, 1, 12, tzinfo=dt.timezone.utc)
SELLS_OUT = (1, 2, 4, 5, 6, 8, 9, 10)  # tickets of 10 at each of LEADS: a film that always fills up
THIRD = (0, 1, 1, 2, 2, 3, 3, 3)  # a film that ends a third full


def history() -> list[Curve]:
    return [Curve(i, movie, 7, 5, 20, 10, curve) for i, (movie, curve) in
            enumerate([(1, SELLS_OUT)] * 4 + [(2, THIRD)] * 4)]


def upcoming(movie: int, sold: int, days: float) -> dict[str, Any]:
    return {"screening_id": 99, "movie_id": movie, "auditorium_id": 7, "weekday": 5, "hour": 20, "capacity": 10,
            "sold": sold, "starts_at": NOW + dt.timedelta(days=days)}


def test_a_film_that_always_sells_out_is_flagged_and_one_that_sells_a_third_is_not() -> None:
    curves = history()
    model = fit(curves)
    assert model is not NAIVE and model.rows == 8 * (len(LEADS) - 1)
    known = History.of(curves)
    full = predict(model, known, upcoming(1, 2, 7), NOW)
    assert full["predicted_occupancy"] >= 97 and full["likely_houseful"] is True
    assert NOW < dt.datetime.fromisoformat(full["houseful_by"]) <= NOW + dt.timedelta(days=7)
    assert full["similar"] == {"screenings": 4, "alike_by": "film, weekday, hour and screen", "final_occupancy": 100.0}
    third = predict(model, known, upcoming(2, 1, 7), NOW)
    assert 20 <= third["predicted_occupancy"] <= 45 and third["likely_houseful"] is False
    assert third["houseful_by"] is None
    # Ahead of its curve (6 sold a week out, where such shows had 2): it sells out sooner.
    early = predict(model, known, upcoming(1, 6, 7), NOW)
    assert dt.datetime.fromisoformat(early["houseful_by"]) < dt.datetime.fromisoformat(full["houseful_by"])
    # Never below what is sold already, never above capacity.
    sold_out = predict(model, known, upcoming(2, 10, 3), NOW)
    assert sold_out["predicted_occupancy"] == 100.0 and sold_out["likely_houseful"]


def test_without_history_the_forecast_keeps_what_is_sold() -> None:
    model = fit([])
    assert model is NAIVE
    out = predict(model, History.of([]), upcoming(1, 4, 2), NOW)
    assert out["predicted_occupancy"] == 40.0 and out["similar"]["screenings"] == 0


async def test_the_api_forecasts_upcoming_screenings(
    client: Any, pg: asyncpg.Connection, make_screening: Any, make_user: Any, clock: Any
) -> None:
    buyer, staff = await make_user("customer"), await make_user("staff")
    show = await make_screening(rows=1, per_row=4)
    await place(pg, buyer["id"], show["screening_id"], {show["seats"]["A1"]: 1000}, created_at=clock.now())
    await pg.execute("UPDATE screening SET starts_at = $2::timestamptz, ends_at = $2::timestamptz + interval '2 hours' WHERE id = $1",
                     show["screening_id"], clock.now() + dt.timedelta(days=2))
    resp = await client.get("/api/forecast", headers=staff["headers"])
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    [one] = [s for s in body["screenings"] if s["screening_id"] == show["screening_id"]]
    assert (one["sold"], one["capacity"]) == (1, 4) and one["predicted_occupancy"] >= 25.0
    assert body["model"]["features"] == ["sold", "similar", "similar_now", "pickup"]
    resp = await client.get("/api/forecast", params={"cinema_id": "x"}, headers=staff["headers"])
    assert resp.status == 400
