"""Command sets: every WebSocket command is a decorated function registered on its set.

A command declares its name and schema once, `@ROOM.command("hold", {...}, ("seats",))`; the
socket core (core.py) checks each message against it, so a handler sees only validated input.
It returns the reply's `result` object and raises domain errors, which the core maps to error
replies in one place. A new command is one more decorated function.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Awaitable, Callable, TypeVar

from server.live import protocol as p

Handler = Callable[[Any, dict[str, Any]], Awaitable[dict[str, Any]]]
H = TypeVar("H", bound=Handler)


@dataclass(frozen=True)
class Command:
    """A registered command: its name, handler, compiled schema and what it needs."""

    name: str
    handler: Handler
    validate: p.Validator
    needs_user: bool  # refused with `unauthorized` until the socket has an identity
    uses_redis: bool  # runs inside the session's Redis slot (a bound on concurrent Redis calls)
    quick: p.Quick | None  # a fast yes for well-formed input (protocol.quick_check); else the schema decides


class CommandSet(dict[str, Command]):
    """The commands one kind of socket accepts, by name."""

    def __init__(self, label: str, unavailable: str) -> None:
        super().__init__()
        self.label = label  # names the socket kind in logs
        self.unavailable = unavailable  # the message of an `unavailable` error (a store is down)

    def command(
        self, name: str, properties: dict[str, Any] | None = None, required: tuple[str, ...] = (),
        *, needs_user: bool = True, uses_redis: bool = False,
    ) -> Callable[[H], H]:
        """Register the decorated handler as command `name` with these fields (id and type are implied)."""
        validate = p.compile_schema(p.command_schema(name, properties, required))
        quick = p.quick_check(properties, required)

        def register(handler: H) -> H:
            if name in self:
                raise ValueError(f"{self.label}: command {name} registered twice")
            self[name] = Command(name, handler, validate, needs_user, uses_redis, quick)
            return handler

        return register
