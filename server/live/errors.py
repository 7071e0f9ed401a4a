"""Live-seat domain errors: stable codes shared by the REST and WebSocket edges."""
from __future__ import annotations

from server.errors import DomainError, error_class

SeatTaken = error_class("SeatTaken", 409, "seat_taken")  # extra: seats=[ids]
SeatBlocked = error_class("SeatBlocked", 409, "seat_blocked")
UnknownSeat = error_class("UnknownSeat", 400, "unknown_seat")
OrphanSeat = error_class("OrphanSeat", 409, "orphan_seat")
WheelchairOnly = error_class("WheelchairOnly", 409, "wheelchair_only")
CompanionOnly = error_class("CompanionOnly", 409, "companion_only")
LimitExceeded = error_class("LimitExceeded", 409, "limit_exceeded")
Houseful = error_class("Houseful", 409, "houseful")
NotHeld = error_class("NotHeld", 409, "not_held")
ExtendLimit = error_class("ExtendLimit", 409, "extend_limit")
NoAdjacentSeats = error_class("NoAdjacentSeats", 409, "no_adjacent_seats")
ScreeningClosed = error_class("ScreeningClosed", 409, "screening_closed")

# code -> (class, message); the Lua scripts return these codes, holds.py raises the class.
ERRORS: dict[str, tuple[type[DomainError], str]] = {
    "seat_taken": (SeatTaken, "Some of these seats are no longer available."),
    "seat_blocked": (SeatBlocked, "Some of these seats are not for sale."),
    "unknown_seat": (UnknownSeat, "Some of these seats are not seats of this screening."),
    "orphan_seat": (OrphanSeat, "That would leave a single seat on its own; choose seats next to each other."),
    "wheelchair_only": (WheelchairOnly, "Wheelchair places can only be held by asking for a wheelchair place."),
    "companion_only": (CompanionOnly, "Companion seats can only be held together with their wheelchair place."),
    "limit_exceeded": (LimitExceeded, "That is more seats than one customer may hold for this screening."),
    "houseful": (Houseful, "This screening is houseful: every seat is sold or held."),
    "not_held": (NotHeld, "You do not hold these seats."),
    "extend_limit": (ExtendLimit, "This hold cannot be extended any further."),
    "no_adjacent_seats": (NoAdjacentSeats, "There are not enough free seats together for that request."),
    "screening_closed": (ScreeningClosed, "This screening is no longer open for seat selection."),
}


def seats_of(error: DomainError) -> list[int]:
    """The seat ids an error is about (empty when it names none)."""
    seats = error.extra.get("seats")
    return list(seats) if isinstance(seats, list) else []
