"""Redis key naming: every key and channel under the configured prefix, one hash tag per screening."""
from __future__ import annotations


class KeySpace:
    """Names of keys and channels under the configured prefix.

    Every key of one screening carries the hash tag {s:<id>} so one Lua script touches one
    Redis Cluster slot.
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def key(self, *parts: object) -> str:
        """A plain key: prefix + parts joined by ':'."""
        return self.prefix + ":".join(str(p) for p in parts)

    def screening(self, screening_id: int, name: str) -> str:
        """A key of one screening, in its hash-tag slot."""
        return f"{self.prefix}{{s:{screening_id}}}:{name}"

    def channel(self, screening_id: int) -> str:
        """The screening's event channel (same hash tag, ready for sharded pub/sub)."""
        return self.screening(screening_id, "events")
