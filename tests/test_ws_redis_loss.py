"""The room's subscription survives a dropped Redis connection and resyncs what it missed."""
from __future__ import annotations

from server import keys
from tests.wsclient import connect


async def test_lost_subscription_resyncs_the_room(client, redis, make_user, make_screening) -> None:
    screening = await make_screening(rows=1, per_row=6)
    sid, seats = screening["screening_id"], screening["seats"]
    watcher = await connect(client, sid)
    store = client.app[keys.HOLDS]
    # Kill exactly this worker's bus connection (the shared Redis has other clients).
    [address] = client.app[keys.BUS].addresses()
    start = len(watcher.messages)
    assert await redis.execute_command("CLIENT", "KILL", "ADDR", address)
    missed = await store.hold(sid, "u1", [seats["A1"], seats["A2"]])  # published while no one listens
    # The room notices the loss, resubscribes and sends a fresh snapshot (or, had it resubscribed
    # before the hold, relays the event): either way the watcher learns of the hold.
    news = await watcher.wait_for(lambda m: m["type"] == "snapshot" and m["version"] >= missed["version"]
                                  or m["type"] == "events" and m["events"][-1]["v"] >= missed["version"], start=start)
    held = news["held"] if news["type"] == "snapshot" else news["events"][-1]["seats"]
    assert sorted(held) == [seats["A1"], seats["A2"]]
    # And the room goes on relaying.
    released = await store.release(sid, "u1", None)
    await watcher.event(lambda e: e["v"] == released["version"], start=start)
    await watcher.close()
