"""Sold seats from PostgreSQL, and the hold -> locked for a sale -> sold steps checkout uses."""
from __future__ import annotations

import secrets

import pytest

from server.live.errors import SeatTaken, seats_of
from tests.support.holds import dump, listen, make_store, store  # noqa: F401

_KEY_CHARS = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


async def sell_in_postgres(pg, screening_id: int, seat_ids: list[int]) -> list[int]:
    """An order with live tickets, written straight into PostgreSQL; returns the ticket ids."""
    user = await pg.fetchval(
        "INSERT INTO app_user (email, name, password_hash) VALUES ($1, 'Buyer', 'x') RETURNING id",
        f"buyer-{secrets.token_hex(4)}@example.test",
    )
    order = await pg.fetchval(
        "INSERT INTO orders (order_key, user_id, screening_id, status, amount, currency, seat_ids,"
        " idempotency_key, expires_at) VALUES ($1, $2, $3, 'paid', $4, 'GBP', $5, $6, now() + interval '1 hour')"
        " RETURNING id",
        "".join(secrets.choice(_KEY_CHARS) for _ in range(10)), user, screening_id, 1000 * len(seat_ids),
        seat_ids, secrets.token_hex(8),
    )
    return [
        await pg.fetchval(
            "INSERT INTO ticket (order_id, screening_id, seat_id, price) VALUES ($1, $2, $3, 1000) RETURNING id",
            order, screening_id, seat,
        )
        for seat in seat_ids
    ]


async def test_warm_loads_sold_seats_from_postgres(store, make_screening, pg, redis) -> None:
    s = await make_screening(orphan_rule=False)
    sid, seat = s["screening_id"], s["seats"]
    await sell_in_postgres(pg, sid, [seat["B1"], seat["B2"]])
    snap = await store.snapshot(sid, None)
    assert sorted(snap["sold"]) == [seat["B1"], seat["B2"]]
    assert snap["counts"] == {"capacity": 40, "sold": 2, "held": 0, "free": 38}
    with pytest.raises(SeatTaken) as caught:
        await store.hold(sid, "u1", [seat["B2"], seat["B3"]])
    assert seats_of(caught.value) == [seat["B2"]]
    # Postgres is the truth: a lost sold set is rebuilt from it on the next command.
    await redis.delete(store.keys_of(sid)[6])
    with pytest.raises(SeatTaken):
        await store.hold(sid, "u1", [seat["B1"]])


async def test_concurrent_warm_ups_load_once(make_store, make_screening, redis) -> None:
    import asyncio

    stores = [await make_store() for _ in range(4)]
    s = await make_screening()
    sid = s["screening_id"]
    await asyncio.gather(*(st.warm(sid) for st in stores for _ in range(5)))
    snaps = await asyncio.gather(*(st.snapshot(sid, None) for st in stores))
    assert {snap["version"] for snap in snaps} == {0}
    assert all(snap["counts"]["capacity"] == 40 for snap in snaps)


async def test_lock_sell_unlock_and_refund(store, make_screening, redis) -> None:
    s = await make_screening(orphan_rule=False)
    sid, seat = s["screening_id"], s["seats"]
    await store.hold(sid, "u1", [seat["A1"], seat["A2"]])
    async with listen(store, redis, sid) as events:
        assert await store.lock_for_sale(sid, "u1", [seat["A1"], seat["A2"], seat["A3"]], "ORDER1") is None
        event = await events.next()
        assert (event["type"], event["seats"]) == ("held", [seat["A3"]])  # the free seat joined the sale
        # Seats being sold do not expire, and their owner cannot release them mid-sale.
        await redis.zadd(store.keys_of(sid)[5], {"u1": 1})
        assert await store.sweep(sid) == []
        assert sorted((await store.my_holds(sid, "u1"))["seats"]) == [seat["A1"], seat["A2"], seat["A3"]]
        assert (await store.release(sid, "u1", None))["seats"] == []
        version = await store.mark_sold(sid, "u1", [seat["A1"], seat["A2"]])
        event = await events.next()
        assert (event["type"], sorted(event["seats"]), event["v"]) == ("sold", [seat["A1"], seat["A2"]], version)
        await store.unlock(sid, "u1", [seat["A3"]], "ORDER1")
        event = await events.next()
        assert (event["type"], event["seats"]) == ("released", [seat["A3"]])
        version = await store.free_sold(sid, [seat["A1"]])
        event = await events.next()
        assert (event["type"], event["seats"], event["v"]) == ("freed", [seat["A1"]], version)
    snap = await store.snapshot(sid, "u1")
    assert snap["sold"] == [seat["A2"]] and snap["held"] == [] and snap["mine"] == []


async def test_lock_for_sale_reports_lost_seats_and_changes_nothing(store, make_screening, redis, settings) -> None:
    s = await make_screening(orphan_rule=False)
    sid, seat = s["screening_id"], s["seats"]
    await store.hold(sid, "u1", [seat["A1"]])
    await store.hold(sid, "u2", [seat["A5"], seat["A6"]])
    await store.mark_sold(sid, "u3", [seat["A9"]])
    before = await dump(redis, settings, sid)
    with pytest.raises(SeatTaken) as caught:
        await store.lock_for_sale(sid, "u1", [seat["A1"], seat["A5"], seat["A9"], seat["A10"]], "ORDER1")
    assert sorted(seats_of(caught.value)) == [seat["A5"], seat["A9"]]
    assert await dump(redis, settings, sid) == before


async def test_a_hold_lost_to_expiry_is_lost_at_lock_time(store, make_screening, redis) -> None:
    s = await make_screening(orphan_rule=False)
    sid, seat = s["screening_id"], s["seats"]
    await store.hold(sid, "u1", [seat["A1"], seat["A2"]])
    await redis.zadd(store.keys_of(sid)[5], {"u1": 1})  # u1's hold ran out ...
    await store.hold(sid, "u2", [seat["A2"]])  # ... and u2 took a seat
    with pytest.raises(SeatTaken) as caught:
        await store.lock_for_sale(sid, "u1", [seat["A1"], seat["A2"]], "ORDER1")
    assert seats_of(caught.value) == [seat["A2"]]
    await store.lock_for_sale(sid, "u1", [seat["A1"]], "ORDER1")  # a still-free seat can be re-taken


async def test_two_sales_of_one_owner_never_share_a_seat(store, make_screening, redis, settings) -> None:
    # One customer, two orders for the same held seats (two tabs), both paid at once.
    s = await make_screening(orphan_rule=False)
    sid, seat = s["screening_id"], s["seats"]
    await store.hold(sid, "u1", [seat["A1"], seat["A2"]])
    async with listen(store, redis, sid) as events:
        await store.lock_for_sale(sid, "u1", [seat["A1"], seat["A2"]], "FIRST")
        await store.lock_for_sale(sid, "u1", [seat["A1"], seat["A2"]], "FIRST")  # the same sale again: fine
        before = await dump(redis, settings, sid)
        with pytest.raises(SeatTaken) as caught:
            await store.lock_for_sale(sid, "u1", [seat["A1"], seat["A2"], seat["A3"]], "SECOND")
        assert sorted(seats_of(caught.value)) == [seat["A1"], seat["A2"]]
        # The loser gives back only what it holds for itself: the winner's seats stay held.
        await store.unlock(sid, "u1", [seat["A1"], seat["A2"], seat["A3"]], "SECOND")
        assert await dump(redis, settings, sid) == before
        await store.mark_sold(sid, "u1", [seat["A1"], seat["A2"]])
        event = await events.next()
        assert (event["type"], sorted(event["seats"])) == ("sold", [seat["A1"], seat["A2"]])
    snap = await store.snapshot(sid, None)
    assert sorted(snap["sold"]) == [seat["A1"], seat["A2"]] and snap["held"] == []


async def test_rebuild_sold_follows_postgres(store, make_screening, pg, redis) -> None:
    s = await make_screening(orphan_rule=False)
    sid, seat = s["screening_id"], s["seats"]
    await store.hold(sid, "u1", [seat["C7"]])
    tickets = await sell_in_postgres(pg, sid, [seat["C7"], seat["C8"]])
    async with listen(store, redis, sid) as events:
        await store.rebuild_sold(sid)
        event = await events.next()
        assert event["type"] == "sold" and sorted(event["seats"]) == [seat["C7"], seat["C8"]]
        assert (await store.my_holds(sid, "u1"))["seats"] == []  # the sold seat's hold is gone
        await pg.execute("UPDATE ticket SET status = 'cancelled' WHERE id = $1", tickets[0])
        await store.rebuild_sold(sid)
        event = await events.next()
        assert (event["type"], event["seats"]) == ("freed", [seat["C7"]])
        await store.rebuild_sold(sid)  # no difference: no event
        assert await events.quiet()
    assert (await store.snapshot(sid, None))["sold"] == [seat["C8"]]
