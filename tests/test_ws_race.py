"""A rush: 200 WebSocket clients racing for the same 10 seats."""
from __future__ import annotations

import asyncio
from collections import Counter

import aiohttp

from tests.wsclient import connect

CLIENTS = 200


async def test_200_clients_race_for_10_seats(client, make_user, make_screening) -> None:
    screening = await make_screening(rows=1, per_row=10, orphan_rule=False)
    sid = screening["screening_id"]
    seat_ids = [screening["seats"][f"A{n}"] for n in range(1, 11)]
    users = [await make_user() for _ in range(CLIENTS)]
    url = client.make_url(f"/ws/screenings/{sid}")
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        watcher = await connect(session, sid, url=url)
        racers = await asyncio.gather(*(connect(session, sid, url=url, token=u["token"]) for u in users))
        start = len(watcher.messages)
        ids = [await r.send("hold", seats=[seat_ids[i % 10]]) for i, r in enumerate(racers)]
        replies = await asyncio.gather(*(r.result(msg_id) for r, msg_id in zip(racers, ids)))

        winners = [(i, rep) for i, rep in enumerate(replies) if rep["success"]]
        losers = [rep for rep in replies if not rep["success"]]
        assert len(winners) == 10
        assert sorted(rep["result"]["seats"][0] for _, rep in winners) == sorted(seat_ids)
        assert Counter(rep["error"]["code"] for rep in losers).keys() <= {"seat_taken", "houseful"}
        assert len(losers) == CLIENTS - 10

        # Every watcher learns of exactly ten holds, one per seat, then that the house is full.
        await watcher.wait_for(lambda m: m.get("type") == "events" and m["houseful"], start=start)
        held = [e for e in watcher.events(start) if e["type"] == "held"]
        assert sorted(s for e in held for s in e["seats"]) == sorted(seat_ids)
        assert len({e["by"] for e in held}) == 10
        snap = await watcher.ok("snapshot")
        assert sorted(snap["held"]) == sorted(seat_ids) and snap["houseful"] is True
        for i, rep in winners:
            assert (await racers[i].ok("my_holds"))["seats"] == rep["result"]["seats"]
        await asyncio.gather(*(r.close() for r in racers))
        await watcher.close()
