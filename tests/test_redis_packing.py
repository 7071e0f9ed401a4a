"""Commands packed by hiredis (server/redis_client.py) are the bytes redis-py would send, and bad
input is refused with redis-py's own error: the faster packer changes nothing else."""
from __future__ import annotations

import pytest
from redis.asyncio.connection import Connection
from redis.exceptions import DataError

from server.redis_client import hiredis_packing

COMMANDS = [
    ("EVALSHA", "f" * 40, 3, "{s:1}:a", b"{s:1}:b", "{s:1}:c", 1764400000000, 0.5, 20.0, 1e-7, -1, "ünï"),
    ("CONFIG GET", "maxmemory"),  # a name with a space is split, as redis-py does
    (b"CLIENT SETNAME", b"houseful"),
    ("SET", "k", bytearray(b"v"), "PX", 500),
]


@pytest.mark.parametrize("command", COMMANDS)
def test_the_same_bytes_as_redis_py(command: tuple) -> None:
    fast, plain = hiredis_packing(Connection)(), Connection()
    assert b"".join(fast.pack_command(*command)) == b"".join(plain.pack_command(*command))


@pytest.mark.parametrize("bad", [True, None, [1]])
def test_bad_input_is_redis_pys_data_error(bad: object) -> None:
    with pytest.raises(DataError):
        hiredis_packing(Connection)().pack_command("SET", "k", bad)
