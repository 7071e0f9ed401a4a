"""The quick check of well-formed commands never lets through what the command's schema refuses.

Every command of every socket kind, fed valid messages and a seeded mix of near-misses (wrong
types, bounds, extra or missing fields, repeated seats): whenever the quick check says yes, the
full JSON Schema must say yes too; and the usual, valid commands do take the quick path.
"""
from __future__ import annotations

import random
from typing import Any

import pytest

from server.live import protocol as p
from server.ws.line import LINE
from server.ws.room_commands import ROOM
from server.ws.staff_commands import STAFF

COMMANDS = [(kind.label, command) for kind in (ROOM, LINE, STAFF) for command in kind.values()]
ODD_VALUES: list[Any] = [None, True, False, 0, 1, -1, 1.0, 2.5, 2**63, 2**53, "", "x", "1", "a" * 300,
                         [], [1], [1, 1], [1, 2], [0], [True], [1.0], ["1"], [[1]], list(range(1, 102)), {},
                         {"a": 1}, "standard", "vip", "nope"]


def _mutants(msg: dict[str, Any], rng: random.Random) -> list[dict[str, Any]]:
    out = []
    for _ in range(400):
        m = dict(msg)
        for _ in range(rng.randint(1, 3)):
            action = rng.random()
            if action < 0.5 and m:
                m[rng.choice(list(m))] = rng.choice(ODD_VALUES)
            elif action < 0.75:
                m[rng.choice(["seats", "wheelchair", "count", "kind", "token", "pass", "date", "extra"])] = rng.choice(ODD_VALUES)
            elif m:
                m.pop(rng.choice(list(m)))
        m["id"], m["type"] = msg["id"], msg["type"]  # the core checks those before the schema
        out.append(m)
    return out


VALID: dict[str, list[dict[str, Any]]] = {
    "hold": [{"seats": [7]}, {"seats": [7, 9], "wheelchair": True}],
    "release": [{}, {"seats": [3]}],
    "hold_best": [{"count": 2}, {"count": 4, "kind": "vip"}],
    "auth": [{"token": "eyJhbGciOi.x.y"}],
    "admission": [{"pass": "7.9.1800000000000.abc"}, {}],
    "ping": [{}], "snapshot": [{}], "extend": [{}], "my_holds": [{}], "join": [{}],
}


@pytest.mark.parametrize(("kind", "command"), COMMANDS, ids=[f"{k}-{c.name}" for k, c in COMMANDS])
def test_the_quick_check_never_accepts_what_the_schema_refuses(kind: str, command: Any) -> None:
    rng = random.Random(f"{kind}-{command.name}")
    samples = []
    for fields in VALID.get(command.name, [{}]):
        msg = {"id": 5, "type": command.name, **fields}
        samples.append(msg)
        samples += _mutants(msg, rng)
    accepted = 0
    for msg in samples:
        if command.quick is not None and command.quick(msg):
            accepted += 1
            assert p.schema_problem(command.validate, msg) is None, msg
    if command.name in ("hold", "release", "auth", "ping", "extend", "my_holds", "hold_best"):
        assert command.quick is not None and accepted >= 1  # the rush's commands take the shortcut
