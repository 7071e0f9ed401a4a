"""Slots bound concurrent Redis work: never more holders than slots, first come first served,
and a caller that gives up never takes a slot with it."""
from __future__ import annotations

import asyncio

import pytest

from server.slots import Slots


async def test_never_more_holders_than_slots_and_served_in_arrival_order() -> None:
    slots = Slots(3)
    inside, most, order = 0, 0, []
    gate = asyncio.Event()

    async def work(n: int) -> None:
        nonlocal inside, most
        async with slots:
            inside += 1
            most = max(most, inside)
            order.append(n)
            await gate.wait()
            inside -= 1

    tasks = [asyncio.create_task(work(n)) for n in range(50)]
    while len(order) < 3:
        await asyncio.sleep(0)
    assert order == [0, 1, 2] and slots.waiting == 47
    gate.set()
    await asyncio.gather(*tasks)
    assert most == 3 and order == list(range(50))
    assert slots.free == 3 and slots.waiting == 0


async def test_a_cancelled_waiter_never_keeps_a_slot() -> None:
    slots = Slots(1)
    release = asyncio.Event()

    async def hold() -> None:
        async with slots:
            await release.wait()

    holder = asyncio.create_task(hold())
    await asyncio.sleep(0)
    gave_up = asyncio.create_task(hold())
    queued = asyncio.create_task(hold())
    await asyncio.sleep(0)
    gave_up.cancel()  # cancelled while queued
    release.set()
    await asyncio.gather(holder, queued)
    with pytest.raises(asyncio.CancelledError):
        await gave_up
    assert slots.free == 1 and slots.waiting == 0


async def test_a_waiter_cancelled_just_as_it_is_handed_a_slot_passes_it_on() -> None:
    slots = Slots(1)
    ran = []

    async def hold(name: str) -> None:
        async with slots:
            ran.append(name)

    async with slots:
        unlucky = asyncio.create_task(hold("unlucky"))
        last = asyncio.create_task(hold("last"))
        await asyncio.sleep(0)  # both queued
        assert slots.waiting == 2
    # Leaving handed the slot to `unlucky`, which has not run since: cancel it now.
    unlucky.cancel()
    await asyncio.gather(unlucky, last, return_exceptions=True)
    assert unlucky.cancelled() and ran == ["last"] and slots.free == 1
