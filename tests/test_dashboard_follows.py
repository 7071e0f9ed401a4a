"""The staff feed follows its set of screenings: created, cancelled, and the turn of the cinema's day.

It listens to exactly the shown screenings' channels (no pattern subscription), so a new screening
must join the set by itself: the catalog channel re-lists, and midnight moves "today" on.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from server import keys
from tests.support.catalog import movie, post, screening, venue
from tests.test_dashboard import frame, open_feed, update_until

LONDON = ZoneInfo("Europe/London")  # catalog.default_time_zone: the zone of cinemas made through the API
UTC = dt.timezone.utc
# Ten seconds before London's midnight in winter (GMT) and in summer (BST: 22:59:50 UTC).
BEFORE_MIDNIGHT = pytest.mark.parametrize(
    "clock", [dt.datetime(2027, 1, 13, 23, 59, 50, tzinfo=UTC), dt.datetime(2027, 7, 14, 22, 59, 50, tzinfo=UTC)],
    ids=["jan-gmt", "jul-bst"], indirect=True)


async def cinema_with_film(client, make_user) -> tuple[dict, dict, dict, int]:
    """An admin, a staff member, a cinema with one auditorium, and a movie's id."""
    admin, staff = await make_user("admin"), await make_user("staff")
    return admin, staff, await venue(client, admin), (await movie(client, admin))["id"]


def local_evening(clock, days: int) -> dt.datetime:
    """18:00 in London `days` local days after the app clock's local today."""
    today = clock.now().astimezone(LONDON).date()
    return dt.datetime.combine(today + dt.timedelta(days=days), dt.time(18), tzinfo=LONDON)


async def test_feed_lists_a_screening_created_and_drops_one_cancelled(client, pg, make_user, clock) -> None:
    admin, staff, built, film = await cinema_with_film(client, make_user)
    starts = local_evening(clock, 2)
    ws, first = await open_feed(client, staff, cinema_id=built["cinema"]["id"], date=starts.date().isoformat())
    assert first["screenings"] == []
    made = await screening(client, admin, built["auditorium"]["id"], film, starts)
    sid = made["id"]
    listed = await frame(ws, "occupancy")
    assert [row["screening_id"] for row in listed["screenings"]] == [sid]
    assert listed["totals"]["screenings"] == 1 and listed["filter"]["from"] == starts.date().isoformat()
    # Its channel is followed from now on: a hold shows as an update.
    seats = await pg.fetch("SELECT id FROM seat WHERE auditorium_id = $1 ORDER BY id LIMIT 2",
                           built["auditorium"]["id"])
    await client.app[keys.HOLDS].hold(sid, "u1", [seats[0]["id"], seats[1]["id"]])
    row = await update_until(ws, sid, lambda r: r["held"] == 2)
    assert row["free"] == listed["screenings"][0]["free"] - 2
    resp = await client.post(f"/api/screenings/{sid}/cancel", headers=admin["headers"])
    assert resp.status == 200
    gone = await frame(ws, "occupancy")
    assert gone["screenings"] == [] and gone["totals"]["screenings"] == 0
    await ws.close()


@BEFORE_MIDNIGHT
async def test_a_feed_of_today_moves_on_at_the_cinemas_midnight(client, make_user, clock) -> None:
    admin, staff, built, film = await cinema_with_film(client, make_user)
    tomorrow = local_evening(clock, 1)
    made = await screening(client, admin, built["auditorium"]["id"], film, tomorrow)
    ws, first = await open_feed(client, staff, cinema_id=built["cinema"]["id"])  # no date: today
    today = clock.now().astimezone(LONDON).date()
    assert first["screenings"] == [] and today < tomorrow.date()
    # Time passes to one second after the cinema's midnight (the app's clock, no waiting).
    midnight = dt.datetime.combine(tomorrow.date(), dt.time(0), tzinfo=LONDON)
    clock.advance(midnight.timestamp() - clock.time() + 1)
    moved = await frame(ws, "occupancy")
    assert moved["filter"]["from"] == moved["filter"]["to"] == tomorrow.date().isoformat()
    assert [row["screening_id"] for row in moved["screenings"]] == [made["id"]]
    await ws.close()


@BEFORE_MIDNIGHT
async def test_a_feed_of_a_chosen_day_stays_on_it_past_midnight(client, make_user, clock) -> None:
    admin, staff, built, film = await cinema_with_film(client, make_user)
    await screening(client, admin, built["auditorium"]["id"], film, local_evening(clock, 1))
    cinema, today = built["cinema"]["id"], clock.now().astimezone(LONDON).date().isoformat()
    following, _ = await open_feed(client, staff, cinema_id=cinema)
    chosen, _ = await open_feed(client, staff, cinema_id=cinema, date=today)
    clock.advance(dt.datetime.combine(dt.date.fromisoformat(today) + dt.timedelta(days=1), dt.time(0),
                                      tzinfo=LONDON).timestamp() - clock.time() + 1)
    moved = await frame(following, "occupancy")  # the same rollover pass would have moved both
    assert moved["filter"]["from"] > today
    # The chosen day's feed got nothing since: the next frame it reads answers its own command.
    await chosen.send_json({"id": 1, "type": "filter", "cinema_id": cinema, "date": today})
    reply = await frame(chosen)
    assert reply["type"] == "result" and reply["result"]["filter"]["from"] == today
    await following.close()
    await chosen.close()
