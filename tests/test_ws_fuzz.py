"""Bounded WebSocket fuzzing: several attacker sockets send a few thousand random bad frames
(malformed and non-object JSON, binary frames, bad and out-of-order ids, unknown commands, bad
schemas, foreign and taken seats, tokens that are not strings), then oversized frames. Every frame gets its one
reply and no reply is `internal`; the victim's and a guest's sockets see nothing; Redis holds
of both screenings are byte-for-byte unchanged.

A seeded generator rather than hypothesis: the frames must go through one real server and its
sockets inside the test's event loop, which hypothesis' synchronous @given cannot drive; a seed
makes a failure reproducible (FUZZ_SEED). About 10 s.
"""
from __future__ import annotations

import asyncio
import os
import random
import string
from typing import Any

import orjson

from server.live import protocol as p
from tests.support.holds import dump
from tests.wsclient import RoomClient, connect

SEED = int(os.environ.get("FUZZ_SEED", "1010"))
FRAMES_PER_SOCKET = 600
ATTACKERS = 4
COMMANDS = ("ping", "snapshot", "hold", "release", "extend", "my_holds", "auth", "hold_best")


def _text(rng: random.Random, most: int = 40) -> str:
    return "".join(rng.choice(string.printable + "\u00e9\u4e2d\u0000\ud7ff") for _ in range(rng.randint(0, most)))


def _junk_value(rng: random.Random) -> Any:
    return rng.choice([None, True, -1, 0, 2**63, 1.5, float("1e308"), "", _text(rng), [], {}, [[[]]],
                       {"a": [1, {"b": None}]}, list(range(rng.randint(0, 300)))])


class Fuzzer:
    """Frames for one attacker: ids increase only when the frame means to be well formed."""

    def __init__(self, rng: random.Random, seats: list[int]) -> None:
        self.rng, self.seats, self.next_id = rng, seats, 1

    def _id(self) -> int:
        self.next_id += self.rng.randint(1, 3)
        return self.next_id

    def frame(self) -> str | bytes:
        rng = self.rng
        pick = rng.randrange(9)
        if pick == 0:
            return bytes(rng.randrange(256) for _ in range(rng.randint(0, 200)))  # binary frame
        if pick == 1:  # malformed JSON
            good = orjson.dumps({"id": self._id(), "type": rng.choice(COMMANDS)}).decode()
            return rng.choice([good[: rng.randint(0, len(good) - 1)], _text(rng), "[" * 2000, "{\"id\":1,}"])
        if pick == 2:  # JSON that is not an object
            return orjson.dumps([_junk_value(rng)]).decode() if rng.random() < 0.5 else orjson.dumps(rng.randint(0, 9)).decode()
        if pick == 3:  # bad or out-of-order ids
            return orjson.dumps({"id": rng.choice([0, -1, "7", 1.5, None, 2**60, max(1, self.next_id - 1)]),
                                 "type": "ping"}).decode()
        if pick == 4:
            return orjson.dumps({"id": self._id(), "type": _text(rng, 20)}).decode()  # unknown command
        if pick == 5:  # a real command with junk fields
            return orjson.dumps({"id": self._id(), "type": rng.choice(COMMANDS),
                                 _text(rng, 8): _junk_value(rng), "seats": _junk_value(rng),
                                 "count": _junk_value(rng)}).decode()
        if pick == 6:  # someone else's or another screening's seats, or no seat at all
            seats = [rng.choice(self.seats + [0, -3, 2**31, 10**12]) for _ in range(rng.randint(1, 4))]
            return orjson.dumps({"id": self._id(), "type": rng.choice(("hold", "release")), "seats": seats}).decode()
        if pick == 7:  # (a wrong auth token closes the socket 4001 by design: tests/test_ws_room.py)
            return orjson.dumps({"id": self._id(), "type": "auth",
                                 "token": rng.choice([None, 0, [], {}, True, ["x"]])}).decode()
        return orjson.dumps({"id": self._id(), "type": rng.choice(("ping", "my_holds", "extend"))}).decode()


async def _attack(room: RoomClient, fuzzer: Fuzzer) -> None:
    """Send the fuzzer's frames, then a ping; every frame must have had exactly one reply, none internal."""
    start = len(room.messages)
    for _ in range(FRAMES_PER_SOCKET):
        frame = fuzzer.frame()
        if isinstance(frame, bytes):
            await room.ws.send_bytes(frame)
        else:
            await room.ws.send_str(frame)
    fuzzer.next_id += 1
    await room.ws.send_str(orjson.dumps({"id": fuzzer.next_id, "type": "ping"}).decode())
    await room.result(fuzzer.next_id, timeout=60)
    replies = [m for m in room.messages[start:] if m.get("type") == "result"]
    assert len(replies) == FRAMES_PER_SOCKET + 1
    codes = {m["error"]["code"] for m in replies if not m["success"]}
    assert p.INTERNAL not in codes and p.UNAVAILABLE not in codes, codes
    assert not room.closed.is_set()


async def test_fuzzed_frames_change_nothing_for_anyone(make_client, make_user, make_screening, redis,
                                                       settings) -> None:
    client = await make_client(websocket={"commands_per_second": 10_000, "command_burst": 10_000,
                                          "user_commands_per_second": 10_000, "user_command_burst": 10_000})
    room, elsewhere = await make_screening(rows=2, per_row=6), await make_screening(rows=1, per_row=4)
    sid = room["screening_id"]
    victim_user, attacker_user = await make_user(), await make_user()
    victim = await connect(client, sid, token=victim_user["token"])
    guest = await connect(client, sid)
    taken = room["seats"]["A1"]
    await victim.ok("hold", seats=[taken])
    await guest.event(lambda e: True)  # the victim's hold reached the room
    before = (await dump(redis, settings, sid), await dump(redis, settings, elsewhere["screening_id"]))
    marks = (len(victim.messages), len(guest.messages))

    rng = random.Random(SEED)
    # Only seats the attacker may not hold: the victim's, and the other screening's.
    foreign = [taken, *elsewhere["seats"].values()]
    attackers = [await connect(client, sid, token=attacker_user["token"]) for _ in range(ATTACKERS - 1)]
    attackers.append(await connect(client, sid))  # and one guest
    await asyncio.gather(*(_attack(a, Fuzzer(random.Random(rng.random()), foreign)) for a in attackers))

    for attacker in attackers:  # oversized frames close only their own socket (1009)
        await attacker.ws.send_str(orjson.dumps({"id": 10**9, "type": "ping", "x": "y" * 5000}).decode())
        assert await attacker.wait_closed() == p.CLOSE_TOO_BIG

    assert (await dump(redis, settings, sid), await dump(redis, settings, elsewhere["screening_id"])) == before
    assert victim.messages[marks[0]:] == [] and guest.messages[marks[1]:] == []
    assert (await victim.ok("my_holds")) is not None
    assert (await guest.ok("snapshot"))["held"] == [taken]
    for socket in (victim, guest):
        await socket.close()
