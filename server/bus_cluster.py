"""The event bus's shards on Redis Cluster: one pub/sub connection per primary that owns a channel.

redis-py's own `RedisCluster.pubsub()` (8.1) can SSUBSCRIBE across nodes, but it reads them by
polling each node in turn (`get_sharded_message`), so one quiet node's timeout delays another's
events. The bus instead gives every primary it needs its own connection and reader task
(server/bus.py), and routes each channel by its slot, from the cluster client's slot map:
a screening's channel carries its hash tag, so it lives where its scripts run. After a lost
connection, a failover or a moved slot, `refresh` re-reads the slot map and the bus resubscribes.
"""
from __future__ import annotations

from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.client import PubSub
from redis.asyncio.cluster import RedisCluster
from redis.crc import key_slot
from redis.exceptions import SlotNotCoveredError

from server.bus import OneRedis, Shards


def shards_for(client: Redis | RedisCluster) -> Shards:
    """The bus's shards for the app's Redis client: the cluster's primaries, or the one server."""
    return ClusterShards(client) if isinstance(client, RedisCluster) else OneRedis(client)


class ClusterShards:
    """Where a channel lives on a Redis Cluster: the primary serving its slot."""

    def __init__(self, cluster: RedisCluster) -> None:
        self.cluster = cluster

    async def shard_of(self, channel: bytes) -> str:
        """The name (host:port) of the primary that owns the channel's slot now.

        The client learns the slot map on its first command; a bus may subscribe before that.
        """
        await self.cluster.initialize()  # returns at once once the slot map is known
        try:
            return self.cluster.nodes_manager.get_node_from_slot(key_slot(channel)).name
        except (KeyError, IndexError) as exc:  # the slot has no known primary right now
            raise SlotNotCoveredError(f"no primary serves the slot of {channel!r} now") from exc

    def pubsub(self, shard: str) -> PubSub:
        """A PubSub on a dedicated connection to that primary (a pool of one, with the cluster's settings)."""
        node = self.cluster.get_node(node_name=shard)
        if node is None:
            raise ConnectionError(f"no cluster node {shard}")
        pool = ConnectionPool(connection_class=node.connection_class, max_connections=1, **node.connection_kwargs)
        return PubSub(pool)

    async def refresh(self) -> None:
        """Re-read the slot map from the cluster (after a failover or a moved slot)."""
        await self.cluster.nodes_manager.initialize()

    async def publish(self, channel: bytes, data: bytes) -> None:
        """SPUBLISH, sent by the cluster client to the channel's primary."""
        await self.cluster.spublish(channel, data)
