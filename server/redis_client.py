"""The Redis client: one bounded connection pool per process, on a single Redis or a Redis Cluster.

`redis.url` picks the kind: `redis://host:port/db` (the default) is one Redis; a URL
`redis+cluster://[user:password@]host:port[,host:port...]` names some nodes of a Redis Cluster
(the client discovers the others) and gives redis-py's cluster client, which sends each command
to the primary of its key's slot. Every multi-key script or transaction of Houseful keeps its
keys in one slot (a hash tag, server/keyspace.py), so both kinds run the same code.
"""
from __future__ import annotations

import asyncio
import contextlib
import contextvars
from typing import Any, AsyncIterator
from urllib.parse import unquote

import hiredis
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import ClusterNode, ClusterPipeline, RedisCluster
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import DataError

from server.config import Settings

CLUSTER_SCHEME = "redis+cluster://"
WAIT_SECONDS = 10  # longest a command waits for a free connection before it fails (both kinds)


def is_cluster(url: str) -> bool:
    """True when the URL names a Redis Cluster."""
    return url.startswith(CLUSTER_SCHEME)


def cluster_url(url: str) -> tuple[list[tuple[str, int]], str | None, str | None]:
    """(nodes, username, password) of a redis+cluster:// URL; ValueError when it names no node."""
    rest = url[len(CLUSTER_SCHEME):].split("?", 1)[0].split("/", 1)[0]
    username = password = None
    if "@" in rest:
        auth, rest = rest.rsplit("@", 1)
        username, _, password = (unquote(part) for part in auth.partition(":"))
        username = username or None
    nodes = []
    for item in filter(None, rest.split(",")):
        host, _, port = item.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"redis.url: {item!r} is not host:port")
        nodes.append((host, int(port)))
    if not nodes:
        raise ValueError("redis.url: a redis+cluster:// URL names at least one host:port")
    return nodes, username, password or None


def create_redis(settings: Settings) -> Redis:
    """The app's client: client_for the configured URL with the configured pool bound."""
    return client_for(settings.redis.url, settings.redis.max_connections)


def client_for(url: str, max_connections: int = 64) -> Redis:
    """A client with a bounded pool; replies are bytes (decode where needed).

    The pool blocks (up to WAIT_SECONDS) when every connection is busy instead of failing, so
    a rush of commands queues for a connection rather than erroring; on a cluster at most
    `max_connections` commands and pipelines are under way at once (BoundedRedisCluster).
    """
    if is_cluster(url):
        nodes, username, password = cluster_url(url)
        cluster = BoundedRedisCluster(startup_nodes=[ClusterNode(host, port) for host, port in nodes],
                                       username=username, password=password,
                                       max_connections=max_connections, health_check_interval=30)
        return cluster  # type: ignore[return-value]  # the same command API as Redis
    pool = BlockingConnectionPool.from_url(url, max_connections=max_connections, timeout=WAIT_SECONDS,
                                           health_check_interval=30)
    pool.connection_class = hiredis_packing(pool.connection_class)
    return Redis.from_pool(pool)


_HOLDING: contextvars.ContextVar[bool] = contextvars.ContextVar("houseful_redis_place", default=False)


class BoundedRedisCluster(RedisCluster):
    """redis-py's cluster client, but a command waits for a place instead of failing.

    Its per-node pools raise MaxConnectionsError when full (they never wait, unlike the
    BlockingConnectionPool of a single Redis), which a rush of sockets would turn into errors.
    Here at most `max_connections` commands or pipelines are under way at once, each using at
    most one connection per node, so no node's pool is ever exhausted; the rest queue.
    """

    def __init__(self, *args: Any, max_connections: int = 64, **kwargs: Any) -> None:
        super().__init__(*args, max_connections=max_connections, **kwargs)
        self._places = asyncio.Semaphore(max_connections)

    @contextlib.asynccontextmanager
    async def place(self) -> AsyncIterator[None]:
        """Hold one of the places (re-entrant within a task: a pipeline's redirected commands)."""
        if _HOLDING.get():
            yield
            return
        try:
            async with asyncio.timeout(WAIT_SECONDS):
                await self._places.acquire()
        except TimeoutError:
            raise RedisConnectionError("no free Redis Cluster connection") from None
        token = _HOLDING.set(True)
        try:
            yield
        finally:
            _HOLDING.reset(token)
            self._places.release()

    async def execute_command(self, *args: Any, **kwargs: Any) -> Any:
        async with self.place(), closed_under_us():
            return await super().execute_command(*args, **kwargs)

    def pipeline(self, transaction: Any | None = None, shard_hint: Any | None = None) -> ClusterPipeline:
        super().pipeline(transaction, shard_hint)  # its argument checks
        return BoundedClusterPipeline(self, transaction)


class BoundedClusterPipeline(ClusterPipeline):
    """A cluster pipeline that runs in one of its client's places."""

    async def execute(self, raise_on_error: bool = True, allow_redirections: bool = True) -> list[Any]:
        async with self.cluster_client.place(), closed_under_us():
            return await super().execute(raise_on_error, allow_redirections)


@contextlib.asynccontextmanager
async def closed_under_us() -> AsyncIterator[None]:
    """A command whose connection redis-py closed meanwhile fails as a lost connection.

    When the cluster's slot map changes (a failover), redis-py closes the old nodes' connections,
    also those a command is using at that moment; the command then meets a socket already gone
    as an AttributeError ('NoneType' object has no attribute 'writelines'). It is an outage
    (`unavailable`, try again), not a bug of the caller.
    """
    try:
        yield
    except AttributeError as exc:
        if "'NoneType'" not in str(exc):  # not a socket gone: a real bug, let it show
            raise
        raise RedisConnectionError("Redis Cluster connection closed during a slot map refresh") from exc


async def ping(redis: Redis) -> bool:
    """Whether this server reaches Redis. On a cluster: whether any primary answers.

    A shard failing over (or a replica down) is not this server's fault, and every server shares
    the cluster: reporting unhealthy would make the load balancer drop every node at once, for
    screenings on the other shards too. Commands for the shard in its gap answer `unavailable`.
    """
    if not isinstance(redis, RedisCluster):
        return bool(await redis.ping())
    await redis.initialize()  # learns the slot map once (later calls return at once)
    for node in redis.get_primaries():
        try:
            if await redis.ping(target_nodes=node):
                return True
        except (RedisConnectionError, OSError, asyncio.TimeoutError):
            continue
    raise RedisConnectionError("no Redis Cluster primary answers")


async def delete_prefix(url: str, prefix: str) -> int:
    """UNLINK every key under prefix; how many went. On a cluster redis-py's SCAN visits every
    primary and its UNLINK splits the keys per slot."""
    client = client_for(url, max_connections=8)
    gone = 0
    try:
        batch: list[bytes] = []
        async for key in client.scan_iter(match=prefix + "*", count=1000):
            batch.append(key)
            if len(batch) == 500:
                gone += await client.unlink(*batch)
                batch = []
        if batch:
            gone += await client.unlink(*batch)
    finally:
        await client.aclose()
    return gone


class _HiredisPacking:
    """Commands packed by hiredis's C packer: the same bytes as redis-py's pure-Python one.

    redis-py's synchronous client already packs with hiredis when it is installed; its asyncio
    connection does not, and packing was the largest client cost of a hold in a rush (issue 13:
    ~2/3 of redis-py's CPU per pipelined EVALSHA). Single Redis only: redis-py's cluster client
    fixes its nodes' connection class, so on a cluster commands are packed in Python.
    """

    def pack_command(self, *args: Any) -> list[bytes]:
        """Pack one command (a name with spaces, e.g. "CONFIG GET", is split as redis-py does)."""
        first = args[0]
        if isinstance(first, str):
            args = (*first.encode().split(), *args[1:])
        elif b" " in first:
            args = (*first.split(), *args[1:])
        try:
            return [hiredis.pack_command(args)]  # str, int, float, bytes: every command of the hot path
        except TypeError:
            pass  # hiredis takes no bytearray or memoryview (redis-py does): copy those, then try again
        try:
            return [hiredis.pack_command(tuple(bytes(a) if isinstance(a, (bytearray, memoryview)) else a
                                               for a in args))]
        except TypeError as exc:  # bool, None, a list...: redis-py's own error for bad input
            raise DataError(str(exc)) from exc


def hiredis_packing(connection_class: type) -> type:
    """connection_class (plain, TLS or Unix socket) packing commands with hiredis."""
    return type(f"Hiredis{connection_class.__name__}", (_HiredisPacking, connection_class), {})
