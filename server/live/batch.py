"""One Redis round trip for the scripts called in the same event-loop tick.

In a rush thousands of sockets send a hold in the same tick; one EVALSHA each costs a pool
checkout, a write and a read per command. The batcher gathers every EVALSHA asked for while
the loop runs its ready callbacks and sends them as one non-transactional pipeline on the
next tick: one write, one read. Each script keeps its own atomicity (Redis runs them one
after another, in the order asked), each caller gets its own reply or its own exception, and
a caller that awaited its command before sending the next keeps its order.

Nobody is left waiting: when the pipeline itself fails (connection lost, timeout, a bug),
every caller of that batch gets the error; a script error (NOSCRIPT, a Lua error) goes to
its own caller only.
"""
from __future__ import annotations

import asyncio
import copy
import time
from typing import Any, Sequence

from redis.asyncio import Redis
from redis.exceptions import NoScriptError, ResponseError

from server.metrics import REDIS_SCRIPT_SECONDS

MAX_BATCH = 512  # scripts in one pipeline; more wait for the next (keeps each reply read short)


class ScriptBatcher:
    """EVALSHA through per-tick pipelines on one Redis client."""

    def __init__(self, redis: Redis, label: str = "seats", in_flight: int = 0) -> None:
        self.redis = redis
        # in_flight > 0: at most that many pipelines on their way; calls asked meanwhile wait for
        # one to come back and go together. Arrivals spread over many loop ticks (each upgrade
        # is its own read event) then still share round trips; a lone call goes at once.
        self.in_flight = in_flight
        self._pending: list[tuple[str, Sequence[str], Sequence[object], asyncio.Future[Any]]] = []
        self._sending: set[asyncio.Task[None]] = set()
        self._round_trip = REDIS_SCRIPT_SECONDS.labels(label)  # one observation per pipeline, not per script

    async def evalsha(self, sha: str, keys: Sequence[str], args: Sequence[object]) -> Any:
        """Run one script by SHA in the next batch; its reply, or its own exception."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()
        self._pending.append((sha, keys, args, fut))
        if len(self._pending) == 1 and not self._full():
            loop.call_soon(self._flush)
        return await fut

    async def run(self, sha: str, source: str, keys: Sequence[str], args: Sequence[object]) -> Any:
        """evalsha() of a script whose source is at hand: loaded again if Redis forgot it (a restart,
        SCRIPT FLUSH), then tried once more."""
        try:
            return await self.evalsha(sha, keys, args)
        except NoScriptError:
            await self.redis.script_load(source)
            return await self.evalsha(sha, keys, args)

    def _full(self) -> bool:
        return 0 < self.in_flight <= len(self._sending)

    def _flush(self) -> None:
        """Send what this tick gathered (in batches of MAX_BATCH), each as its own task."""
        if not self._pending or self._full():
            return  # a pipeline coming back sends them (_sent)
        pending, self._pending = self._pending, []
        for start in range(0, len(pending), MAX_BATCH):
            task = asyncio.get_running_loop().create_task(self._send(pending[start:start + MAX_BATCH]))
            self._sending.add(task)
            task.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._sending.discard(task)
        if self._pending and not self._full():
            self._flush()  # what was asked while the pipelines were out

    async def _send(self, batch: list[tuple[str, Sequence[str], Sequence[object], asyncio.Future[Any]]]) -> None:
        started = time.perf_counter()
        try:
            if len(batch) == 1:  # nothing to share: a plain call is cheaper than a pipeline
                sha, keys, args, _ = batch[0]
                results: list[Any] = [await _one(self.redis, sha, keys, args)]
            else:
                pipe = self.redis.pipeline(transaction=False)
                for sha, keys, args, _ in batch:
                    # execute_command, not pipe.evalsha: redis-py's cluster pipeline refuses the
                    # latter by name but routes the command itself by its keys' slot, one
                    # pipeline per node, each reply in its place (docs/operations.md, Redis Cluster).
                    pipe.execute_command("EVALSHA", sha, len(keys), *keys, *args)
                results = await pipe.execute(raise_on_error=False)
            self._round_trip.observe(time.perf_counter() - started)
        except BaseException as exc:  # noqa: BLE001 - every waiting caller must learn of it
            for *_, fut in batch:
                if not fut.done():
                    if isinstance(exc, asyncio.CancelledError):
                        fut.cancel()
                    else:
                        fut.set_exception(_own_copy(exc))
            if not isinstance(exc, Exception):
                raise
            return
        for (*_, fut), result in zip(batch, results):
            if fut.done():  # the caller gave up (cancelled); nobody to tell
                continue
            if isinstance(result, Exception):
                fut.set_exception(result)
            else:
                fut.set_result(result)


async def _one(redis: Redis, sha: str, keys: Sequence[str], args: Sequence[object]) -> Any:
    """One EVALSHA, its script error returned (as a pipeline with raise_on_error=False would)."""
    try:
        return await redis.evalsha(sha, len(keys), *keys, *args)
    except ResponseError as exc:
        return exc


def _own_copy(exc: BaseException) -> BaseException:
    """A copy of exc per caller, so tracebacks of different callers do not pile up on one object."""
    try:
        return copy.copy(exc)
    except Exception:  # noqa: BLE001 - an exception that cannot be copied is shared
        return exc
