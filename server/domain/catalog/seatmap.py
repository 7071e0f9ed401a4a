"""Seat-map layouts: the list form and the admin editor's compact grid form, and their validation.

Pure functions, no I/O: they turn a request body into a checked list of `SeatSpec`.
"""
from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from server.domain.catalog.common import InvalidSeatMap

KINDS = ("standard", "vip", "wheelchair", "companion")
MAX_SEATS = 5_000
# Grid letters: seat kind and whether the place is blocked; "_" is an aisle or gap.
GRID_CODES = {
    "S": ("standard", False),
    "V": ("vip", False),
    "W": ("wheelchair", False),
    "C": ("companion", False),
    "X": ("standard", True),
}
GAP = "_"


@dataclass(frozen=True)
class SeatSpec:
    """One seat of a layout before it is stored."""

    row: str
    number: int
    x: float
    y: float
    kind: str = "standard"
    blocked: bool = False
    companion_of: tuple[str, int] | None = None


def row_labels(count: int) -> list[str]:
    """A, B, ... Z, AA, AB, ...: the default row labels for a grid without `rows`."""
    letters = string.ascii_uppercase
    out = []
    for i in range(count):
        label, n = "", i
        while True:
            label = letters[n % 26] + label
            n = n // 26 - 1
            if n < 0:
                break
        out.append(label)
    return out


def from_grid(grid: Sequence[str], rows: Sequence[str] | None = None) -> list[SeatSpec]:
    """Seats from grid strings: x = column, y = row index, numbers count seats left to right."""
    labels = list(rows) if rows is not None else row_labels(len(grid))
    if len(labels) != len(grid):
        raise InvalidSeatMap(f"{len(labels)} row labels for {len(grid)} grid rows", field="rows")
    seats: list[SeatSpec] = []
    for y, (label, line) in enumerate(zip(labels, grid)):
        number = 0
        for x, code in enumerate(line):
            if code == GAP:
                continue
            if code not in GRID_CODES:
                raise InvalidSeatMap(f"unknown grid letter {code!r} (use S V W C X or _)", field=f"grid.{y}")
            kind, blocked = GRID_CODES[code]
            number += 1
            seats.append(SeatSpec(label, number, float(x), float(y), kind, blocked))
    return seats


def from_list(items: Sequence[Mapping[str, Any]]) -> list[SeatSpec]:
    """Seats from the list form (already schema-checked)."""
    out = []
    for item in items:
        companion = item.get("companion_of")
        out.append(SeatSpec(
            row=item["row"], number=int(item["number"]), x=float(item["x"]), y=float(item["y"]),
            kind=item.get("kind", "standard"), blocked=bool(item.get("blocked", False)),
            companion_of=(companion["row"], int(companion["number"])) if companion else None,
        ))
    return out


def from_body(body: Any) -> list[SeatSpec]:
    """A layout from a body: a list of seats, {"seats": [...]}, or {"rows": [...], "grid": [...]}."""
    if isinstance(body, list):
        return from_list(body)
    if "grid" in body and "seats" in body:
        raise InvalidSeatMap("send either seats or grid, not both", field="grid")
    if "grid" in body:
        return from_grid(body["grid"], body.get("rows"))
    if "rows" in body:
        raise InvalidSeatMap("rows needs a grid", field="grid")
    if "seats" in body:
        return from_list(body["seats"])
    raise InvalidSeatMap("send seats (a list) or grid (with rows)", field="seats")


def validate(seats: list[SeatSpec]) -> list[SeatSpec]:
    """Check a layout; companions without an explicit wheelchair place get the adjacent one.

    Rules: at most MAX_SEATS seats, unique (row, number), coordinates >= 0, and every companion
    seat tied to a wheelchair place in the same row with an adjacent number.
    """
    if len(seats) > MAX_SEATS:
        raise InvalidSeatMap(f"at most {MAX_SEATS} seats per auditorium ({len(seats)} given)", field="seats")
    where: dict[tuple[str, int], int] = {}
    for i, seat in enumerate(seats):
        if (seat.row, seat.number) in where:
            raise InvalidSeatMap(f"seat {seat.row}{seat.number} appears twice", field=f"seats.{i}")
        if seat.x < 0 or seat.y < 0:
            raise InvalidSeatMap("seat coordinates must be >= 0", field=f"seats.{i}")
        where[(seat.row, seat.number)] = i
    return [_tie_companion(i, seat, seats, where) for i, seat in enumerate(seats)]


def _tie_companion(i: int, seat: SeatSpec, seats: list[SeatSpec], where: dict[tuple[str, int], int]) -> SeatSpec:
    if seat.kind != "companion":
        if seat.companion_of is not None:
            raise InvalidSeatMap("only companion seats have companion_of", field=f"seats.{i}.companion_of")
        return seat
    if seat.companion_of is not None:
        row, number = seat.companion_of
        target = where.get((row, number))
        if target is None or seats[target].kind != "wheelchair":
            raise InvalidSeatMap(f"companion seat {seat.row}{seat.number} must point at a wheelchair place",
                                 field=f"seats.{i}.companion_of")
        if row != seat.row or abs(number - seat.number) != 1:
            raise InvalidSeatMap(f"companion seat {seat.row}{seat.number} must be next to its wheelchair place",
                                 field=f"seats.{i}.companion_of")
        return seat
    for number in (seat.number - 1, seat.number + 1):
        target = where.get((seat.row, number))
        if target is not None and seats[target].kind == "wheelchair":
            return SeatSpec(seat.row, seat.number, seat.x, seat.y, seat.kind, seat.blocked, (seat.row, number))
    raise InvalidSeatMap(f"companion seat {seat.row}{seat.number} is not next to a wheelchair place",
                         field=f"seats.{i}")
