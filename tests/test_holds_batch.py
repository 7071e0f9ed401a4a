"""Scripts called in the same tick share one pipeline (server/live/batch.py): each caller still gets
its own answer, and when Redis fails or forgot its scripts nobody is left waiting.

A private Redis (tests/support/stores.py) is killed, restarted and flushed here; the shared one is
never touched.
"""
from __future__ import annotations

import asyncio

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from server.live.batch import ScriptBatcher
from server.live.errors import OrphanSeat, SeatTaken
from tests.support.holds import make_store  # noqa: F401

ANSWER_WITHIN = 20.0  # seconds: an outage must be answered, never waited out


async def _attempt(store, sid: int, owner: str, seat: int) -> object:
    try:
        return await store.hold(sid, owner, [seat])
    except Exception as exc:  # noqa: BLE001 - the test sorts answers by kind
        return exc


async def test_a_tick_of_holds_shares_one_connection_and_keeps_every_answer(
        make_store, make_screening, private_redis) -> None:
    store = await make_store(redis={"url": private_redis.url, "max_connections": 50})
    s = await make_screening(rows=1, per_row=40, orphan_rule=False)
    sid, ids = s["screening_id"], list(s["seats"].values())
    await store.warm(sid)
    # 40 owners at once; owners 20..39 want the seats of owners 0..19 (one of each pair wins).
    answers = await asyncio.gather(*(_attempt(store, sid, f"u{k}", ids[k % 20]) for k in range(40)))
    won = [a for a in answers if isinstance(a, dict)]
    lost = [a for a in answers if not isinstance(a, dict)]
    assert len(won) == 20 and all(isinstance(a, SeatTaken) for a in lost)
    assert sorted(seat for a in won for seat in a["seats"]) == sorted(ids[:20])
    assert len({a["version"] for a in won}) == 20  # 20 scripts, each its own atomic step
    # One pipeline for the tick: the pool did not open a connection per caller.
    probe = Redis.from_url(private_redis.url)
    try:
        assert (await probe.info("clients"))["connected_clients"] <= 4  # the store's + this probe
    finally:
        await probe.aclose()


async def test_script_errors_reach_only_their_own_caller(make_store, make_screening, private_redis) -> None:
    store = await make_store(redis={"url": private_redis.url})
    s = await make_screening(rows=1, per_row=6)
    sid, seat = s["screening_id"], s["seats"]
    await store.warm(sid)
    # In one tick: a hold that breaks the orphan rule (A2 alone leaves A1 orphaned) beside good ones.
    good, orphan, other = await asyncio.gather(
        _attempt(store, sid, "u1", seat["A1"]), _attempt(store, sid, "u2", seat["A5"]),
        _attempt(store, sid, "u3", seat["A6"]))
    assert isinstance(good, dict) and isinstance(other, dict)
    assert isinstance(orphan, OrphanSeat)


async def test_noscript_after_script_flush_is_loaded_once_and_every_caller_answered(
        make_store, make_screening, private_redis) -> None:
    store = await make_store(redis={"url": private_redis.url})
    s = await make_screening(rows=1, per_row=30, orphan_rule=False)
    sid, ids = s["screening_id"], list(s["seats"].values())
    await store.warm(sid)
    await store.redis.script_flush()
    answers = await asyncio.wait_for(
        asyncio.gather(*(_attempt(store, sid, f"u{k}", ids[k]) for k in range(30))), ANSWER_WITHIN)
    assert all(isinstance(a, dict) for a in answers), answers
    assert all(await store.redis.script_exists(*store.scripts.shas.values()))


async def test_redis_killed_under_a_batch_answers_every_caller_then_recovers(
        make_store, make_screening, private_redis) -> None:
    store = await make_store(redis={"url": private_redis.url})
    s = await make_screening(rows=1, per_row=30, orphan_rule=False)
    sid, ids = s["screening_id"], list(s["seats"].values())
    await store.warm(sid)
    calls = [asyncio.ensure_future(_attempt(store, sid, f"u{k}", ids[k])) for k in range(30)]
    await asyncio.sleep(0)  # every call has joined the tick's batch; it is sent on the next tick
    private_redis.kill9()
    answers = await asyncio.wait_for(asyncio.gather(*calls), ANSWER_WITHIN)
    assert all(isinstance(a, (RedisConnectionError, OSError)) for a in answers), answers
    assert len({id(a) for a in answers}) == len(answers)  # each caller its own exception object
    await private_redis.start()  # back, empty: no scripts, no screening keys
    again = await asyncio.wait_for(
        asyncio.gather(*(_attempt(store, sid, f"u{k}", ids[k]) for k in range(10))), ANSWER_WITHIN)
    assert all(isinstance(a, dict) for a in again), again


async def test_a_script_redis_forgot_is_loaded_again_for_the_line_and_the_budget(private_redis) -> None:
    # The waiting room's line and the command budget run their own scripts through ScriptBatcher.run.
    redis = Redis.from_url(private_redis.url)
    try:
        source = "return tonumber(ARGV[1]) * 2"
        batcher = ScriptBatcher(redis, label="line", in_flight=1)
        sha = await redis.script_load(source)
        assert await batcher.run(sha, source, [], [1]) == 2
        await redis.script_flush()
        answers = await asyncio.wait_for(
            asyncio.gather(*(batcher.run(sha, source, [], [n]) for n in range(20))), ANSWER_WITHIN)
        assert answers == [2 * n for n in range(20)]
    finally:
        await redis.aclose()
