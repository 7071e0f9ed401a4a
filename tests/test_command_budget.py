"""The user's command budget leases tokens a few at a time (issue 13) and still never grants more
than the shared bucket: two workers (two UserBudget objects on one Redis) together stay inside it."""
from __future__ import annotations

import asyncio

from redis.asyncio import Redis

from server.config import Settings
from server.keyspace import KeySpace
from server.live.budget import LEASE_TOKENS, UserBudget, lease_size


def test_a_small_burst_takes_one_token_at_a_time() -> None:
    assert lease_size(10) == 1
    assert lease_size(40) == LEASE_TOKENS > 1


async def test_two_workers_never_grant_more_than_the_bucket(redis: Redis, settings: Settings) -> None:
    space = KeySpace(settings.redis.key_prefix)
    burst = 40
    workers = [UserBudget(redis, space, rate=0.001, burst=burst) for _ in range(2)]  # no refill to speak of
    # Many takes for one user at once, spread over both workers, in the same ticks (batched).
    granted = await asyncio.gather(*(workers[i % 2].take(7) for i in range(200)))
    assert sum(granted) == burst  # every token used, none twice: leases come out of the one bucket
    assert not await workers[0].take(7) and not await workers[1].take(7)
    assert await workers[0].take(8)  # another user has a budget of their own


async def test_the_lease_is_spent_locally_then_the_bucket_decides(redis: Redis, settings: Settings) -> None:
    space = KeySpace(settings.redis.key_prefix)
    worker = UserBudget(redis, space, rate=0.001, burst=40)
    assert await worker.take(9)
    left = float(await redis.hget(space.key("commands", 9), "tokens"))
    assert 40 - LEASE_TOKENS <= left < 40 - LEASE_TOKENS + 0.01  # one script took a lease, not one token
    for _ in range(LEASE_TOKENS - 1):
        assert await worker.take(9)
    assert float(await redis.hget(space.key("commands", 9), "tokens")) == left  # spent here, no Redis
    assert await worker.take(9)
    assert float(await redis.hget(space.key("commands", 9), "tokens")) < left - LEASE_TOKENS + 0.01
