"""The WebSocket protocol's fixed shapes: version, error codes, close codes, command schemas, frames.

Shared by the seat rooms and the staff feed. Everything a client can rely on is named here
once; docs/protocol.md (and docs/dashboard.md for the feed) describe the same names.
"""
from __future__ import annotations

import re
import struct
from typing import Any, Callable, Final

import fastjsonschema
import orjson

from server.sentences import for_people

PROTOCOL_VERSION: Final = 1

# Error codes of the WebSocket edge (the domain's own codes, e.g. seat_taken, pass through unchanged).
INVALID_JSON: Final = "invalid_json"
BINARY_NOT_SUPPORTED: Final = "binary_not_supported"
UNKNOWN_COMMAND: Final = "unknown_command"
INVALID: Final = "invalid"
BAD_ID: Final = "bad_id"
UNAUTHORIZED: Final = "unauthorized"
FORBIDDEN: Final = "forbidden"
RATE_LIMITED: Final = "rate_limited"
UNAVAILABLE: Final = "unavailable"
INTERNAL: Final = "internal"

# Close codes (1000-2999 are RFC 6455's; 4000-4999 are ours).
CLOSE_GOING_AWAY: Final = 1001  # server shutting down: reconnect and resync
CLOSE_TOO_BIG: Final = 1009  # a frame above websocket.max_message_bytes (aiohttp closes it)
CLOSE_INTERNAL: Final = 1011  # the server could not build a snapshot or list (a store is down)
CLOSE_AUTH: Final = 4001  # promised auth not sent in time, or an invalid token
CLOSE_FORBIDDEN: Final = 4003  # the staff feed: the token is a customer's
CLOSE_FLOOD: Final = 4008  # far more commands than the rate limit allows
CLOSE_TOO_SLOW: Final = 4009  # a room: behind too long (or again too soon); the feed: its queue overflowed

# Frames within one second beyond FLOOD_FACTOR x command_burst close the socket with CLOSE_FLOOD.
FLOOD_FACTOR: Final = 3
# Ids travel through JavaScript clients, so they must stay exact doubles.
MAX_ID: Final = 2**53 - 1
# Redis bigint seat ids; schemas bound array lengths so a command stays cheap to validate.
MAX_SEAT_ID: Final = 2**63 - 1
MAX_SEATS_PER_COMMAND: Final = 100
SEAT_KINDS: Final = ("standard", "vip", "wheelchair", "companion")

# A socket whose unsent bytes exceed send_queue_frames x this many is behind (see connection.py).
BEHIND_BYTES_PER_FRAME: Final = 4_096

TOKEN: Final[dict[str, Any]] = {"type": "string", "minLength": 1, "maxLength": 4096}  # an access JWT
SEAT_LIST: Final[dict[str, Any]] = {
    "type": "array",
    "minItems": 1,
    "maxItems": MAX_SEATS_PER_COMMAND,
    "uniqueItems": True,
    "items": {"type": "integer", "minimum": 1, "maximum": MAX_SEAT_ID},
}


def command_schema(
    name: str, properties: dict[str, Any] | None = None, required: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The full JSON Schema of one command: id and type plus its own fields, nothing else."""
    return {
        "type": "object",
        "properties": {
            "id": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
            "type": {"const": name},
            **(properties or {}),
        },
        "required": ["id", "type", *required],
        "additionalProperties": False,
    }


Validator = Callable[[Any], Any]


def compile_schema(schema: dict[str, Any]) -> Validator:
    """A fastjsonschema validator (draft-07), compiled once at import."""
    return fastjsonschema.compile(schema)


Quick = Callable[[dict[str, Any]], bool]
_INT, _STR = frozenset(("type", "minimum", "maximum")), frozenset(("type", "minLength", "maxLength"))
_ARRAY = frozenset(("type", "items", "minItems", "maxItems", "uniqueItems"))


def _quick_field(schema: dict[str, Any]) -> Callable[[Any], bool] | None:
    """A check that says yes only to values the schema accepts (exact types), or None: no shortcut."""
    kind, keys = schema.get("type"), schema.keys()
    if kind == "integer" and keys <= _INT:
        lo, hi = schema.get("minimum", -(2**63)), schema.get("maximum", 2**63)
        return lambda v: type(v) is int and lo <= v <= hi
    if kind == "boolean" and keys == {"type"}:
        return lambda v: type(v) is bool
    if kind == "string" and keys <= _STR:
        shortest, longest = schema.get("minLength", 0), schema.get("maxLength", 2**31)
        return lambda v: type(v) is str and shortest <= len(v) <= longest
    if keys == {"enum"} and all(type(option) is str for option in schema["enum"]):
        options = frozenset(schema["enum"])
        return lambda v: type(v) is str and v in options
    if kind == "array" and keys <= _ARRAY and "items" in schema:
        item = _quick_field(schema["items"])
        if item is None:
            return None
        fewest, most = schema.get("minItems", 0), schema.get("maxItems", 2**31)
        unique = schema.get("uniqueItems", False)
        return lambda v: (type(v) is list and fewest <= len(v) <= most and all(map(item, v))
                          and (not unique or len(set(v)) == len(v)))
    return None


def quick_check(properties: dict[str, Any] | None, required: tuple[str, ...]) -> Quick | None:
    """A fast yes for a well-formed command of this shape (id and type already checked), or None.

    The compiled schema costs ~10 µs a command, a tenth of a hold in a rush (issue 13). This says
    yes only to messages the schema accepts, with exact types (no 1.0 for 1, no true for 1); any
    other message, valid or not, goes through the schema, which alone words the errors.
    """
    checks: dict[str, Callable[[Any], bool]] = {"id": lambda v: True, "type": lambda v: True}
    for name, schema in (properties or {}).items():
        check = _quick_field(schema)
        if check is None:
            return None
        checks[name] = check

    def quick(msg: dict[str, Any]) -> bool:
        for key, value in msg.items():
            check = checks.get(key)
            if check is None or not check(value):
                return False
        return all(name in msg for name in required)

    return quick


def schema_problem(validate: Validator, msg: Any) -> tuple[str, str | None] | None:
    """None when msg fits the schema, else (message, field at fault)."""
    try:
        validate(msg)
    except fastjsonschema.JsonSchemaValueException as exc:
        path = [str(part) for part in (exc.path or [])[1:]]
        field = ".".join(path) or None
        if field is None and exc.rule == "required":
            missing = re.search(r"\[(.*?)\]", exc.message)
            field = missing.group(1).split(",")[0].strip("'\" ") if missing else None
        elif field is None and exc.rule == "additionalProperties":
            extra = re.search(r"[{(](.*?)[})]", exc.message)
            field = extra.group(1).split(",")[0].strip("'\" ") if extra else None
        return exc.message.replace("data.", "").replace("data ", "command "), field
    return None


def encode(message: dict[str, Any]) -> bytes:
    """One frame's bytes (orjson, UTF-8 JSON text)."""
    return orjson.dumps(message, option=orjson.OPT_NON_STR_KEYS)


def result_frame(msg_id: int, result: dict[str, Any]) -> bytes:
    """A success reply to request msg_id."""
    return encode({"id": msg_id, "type": "result", "success": True, "result": result})


def error_frame(msg_id: int | None, code: str, message: str, **extra: Any) -> bytes:
    """A failure reply: {"id", "type": "result", "success": false, "error": {code, message, ...}}."""
    error = {"code": code, "message": for_people(message, extra.get("field"))}
    error.update({k: v for k, v in extra.items() if v is not None})
    return encode({"id": msg_id, "type": "result", "success": False, "error": error})


def hello_frame(screening_id: int, me: str | None, auth_pending: bool, limits: dict[str, Any],
                server_time: int) -> bytes:
    """The first frame on every connection (server_time: the app clock's unix ms)."""
    return encode({
        "type": "hello", "protocol": PROTOCOL_VERSION, "screening_id": screening_id,
        "me": me, "auth_pending": auth_pending, "limits": limits, "server_time": server_time,
    })


def snapshot_message(snapshot: dict[str, Any], server_time: int) -> dict[str, Any]:
    """The snapshot frame's content: the HoldStore snapshot plus the server's clock."""
    return {"type": "snapshot", **snapshot, "server_time": server_time}


def events_frame(events: list[dict[str, Any]], houseful: bool) -> bytes:
    """One tick's deltas for a room, in version order, plus the houseful flag after the last one."""
    return encode({"type": "events", "events": events, "houseful": houseful})


# --- wire frames ---------------------------------------------------------------------------
# Server-to-client WebSocket frames are never masked (RFC 6455, 5.1) and we never compress them
# (compress=False on the WebSocketResponse), so a frame's bytes are the same for every socket:
# a room builds them once per tick and writes them to each socket's transport as they are.
_FIN_TEXT: Final = 0x80 | 0x1  # FIN bit + opcode 1 (text)
_LEN1 = struct.Struct("!BB").pack
_LEN2 = struct.Struct("!BBH").pack
_LEN3 = struct.Struct("!BBQ").pack


def text_frame(payload: bytes) -> bytes:
    """A complete unmasked, uncompressed WebSocket text frame (header + payload) for `payload`."""
    size = len(payload)
    if size < 126:
        return _LEN1(_FIN_TEXT, size) + payload
    if size < 65_536:
        return _LEN2(_FIN_TEXT, 126, size) + payload
    return _LEN3(_FIN_TEXT, 127, size) + payload


# Per-socket fields of a snapshot; everything else is the same for every socket of a room.
SNAPSHOT_OWN_FIELDS: Final = ("mine", "deadline", "me")


def snapshot_head(snapshot: dict[str, Any]) -> bytes:
    """The room-wide part of a snapshot frame, encoded once: a JSON object left open at the end."""
    shared = {k: v for k, v in snapshot.items() if k not in SNAPSHOT_OWN_FIELDS}
    return encode({"type": "snapshot", **shared})[:-1]


def snapshot_payload(head: bytes, mine: list[int], deadline: int | None, me: str | None,
                     server_time: int) -> bytes:
    """A socket's snapshot frame: the shared head closed with its own holds, tag and the clock."""
    own = encode({"mine": mine, "deadline": deadline, "me": me, "server_time": server_time})
    return head + b"," + own[1:]
