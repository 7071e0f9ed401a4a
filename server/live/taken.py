"""TakenSeats: a room's memory of which seats are taken, so a hold that cannot win is refused here.

In a rush most holds ask for seats somebody already has: 3,000 customers after 500 seats send
thousands of holds that Redis can only refuse. The room already receives every change of its
screening (the bus), in version order, so it knows which seats are held (by whom, until when) or
sold. A hold for such a seat is refused on the worker, without a Redis round trip, with the same
error Redis would give (`seat_taken` with the seats, or `houseful`).

The memory only ever *refuses*: a hold is granted by the Lua script alone, so nothing here can
sell or hold a seat twice. Whenever it might be wrong it says nothing and the hold goes to Redis:
- a seat never seen in an event since the room opened (it may be free: we do not know);
- a hold past its known deadline (it may have expired without an event yet, or been extended:
  `extend` publishes nothing, so a deadline here is never later than the real one);
- after any version gap, a reload, an event type it does not know, or the bus losing the channel:
  everything is forgotten and learnt again from the next events;
- while the screening's close time is unknown, or once it has passed (Redis says `screening_closed`).
A seat released a moment ago whose event is still on its way is refused as taken: the same answer
the customer would have had a moment earlier, and the seat map shows it free right after.
"""
from __future__ import annotations

from typing import Any, Sequence

from server.errors import DomainError
from server.live.errors import ERRORS

FREE_AGAIN = frozenset(("released", "expired", "freed"))
SOLD = 2**62  # the "deadline" of a sold seat: never (ms)


class TakenSeats:
    """Seat id -> (holder tag, until ms) of the seats a room knows are taken; sold ones never end."""

    __slots__ = ("seats", "version", "houseful", "closes_at")

    def __init__(self) -> None:
        self.seats: dict[int, tuple[str, int]] = {}
        self.version: int | None = None  # the last event applied; None: none since the last reset
        self.houseful = False
        self.closes_at: int | None = None  # holding ends then (ms); None: unknown, never refuse

    def forget(self) -> None:
        """Know nothing (a gap, a reload, a lost channel): every hold goes to Redis until new events."""
        self.seats.clear()
        self.version = None
        self.houseful = False

    def apply(self, event: dict[str, Any]) -> None:
        """Learn one event of the screening (called in arrival order, which is version order)."""
        v = event["v"]
        if self.version is not None and v != self.version + 1:
            self.forget()  # a missed event may have changed any seat
        self.version = v
        self.houseful = event.get("houseful") is True
        kind, seats = event.get("type"), event.get("seats") or ()
        if kind == "held":
            until = event.get("until")
            if type(until) is not int:
                for seat in seats:
                    self.seats.pop(seat, None)
                return
            entry = (event.get("by") or "", until)
            for seat in seats:
                self.seats[seat] = entry
        elif kind in FREE_AGAIN:
            for seat in seats:
                self.seats.pop(seat, None)
        elif kind == "sold":
            for seat in seats:
                self.seats[seat] = ("", SOLD)
        elif kind != "waitlist":
            self.forget()  # reloaded, or a type this worker does not know
            if kind == "reloaded":
                self.closes_at = None  # the sale rules may have changed: read again

    def refusal(self, seats: Sequence[int], me: str | None, now_ms: int) -> DomainError | None:
        """The error Redis would certainly give this hold, or None when only Redis can tell."""
        closes_at = self.closes_at
        if closes_at is None or now_ms >= closes_at or not self.seats:
            return None
        known = self.seats
        lost = []
        for seat in seats:
            entry = known.get(seat)
            if entry is not None and entry[1] > now_ms and entry[0] != me:
                lost.append(seat)
        if not lost:
            return None
        # The script's order: houseful is checked before the seats themselves.
        code = "houseful" if self.houseful else "seat_taken"
        cls, message = ERRORS[code]
        return cls(message) if code == "houseful" else cls(message, seats=lost)
