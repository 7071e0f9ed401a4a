"""Layouts for the demo catalog: auditorium seat maps and the SVG posters.

Seat coordinates: x counts seat widths along a row (an aisle is a one-seat gap), y is the
row index with row A (y=0) nearest the screen. Rows are centred on the widest row, so a row
with shorter wings still lines up with the aisles of the rows behind it.
"""
from __future__ import annotations

import string
from typing import Iterable, NamedTuple, Sequence
from xml.sax.saxutils import escape

AISLE = 1.0  # an aisle is one empty seat-width between blocks


class DemoSeat(NamedTuple):
    """One seat of a demo layout; companion_of is the number of the wheelchair place beside it."""

    row_label: str
    number: int
    x: float
    y: float
    kind: str
    blocked: bool
    companion_of: int | None


def build_seats(
    rows: Sequence[Sequence[int]],
    *,
    vip_rows: int = 0,
    accessible: Iterable[tuple[str, int, int]] = (),
    blocked: Iterable[tuple[str, int]] = (),
) -> list[DemoSeat]:
    """Seats for rows of blocks (seat counts between aisles), numbered left to right.

    accessible holds (row, wheelchair number, companion number) pairs; the back vip_rows are VIP.
    """
    pairs = {(row, wheel): comp for row, wheel, comp in accessible}
    companions = {(row, comp): wheel for row, wheel, comp in accessible}
    blocked_set = set(blocked)
    widths = [sum(blocks) + AISLE * (len(blocks) - 1) for blocks in rows]
    widest = max(widths)
    seats: list[DemoSeat] = []
    for index, blocks in enumerate(rows):
        label = string.ascii_uppercase[index]
        x = (widest - widths[index]) / 2
        number = 0
        for block_no, size in enumerate(blocks):
            if block_no:
                x += AISLE
            for _ in range(size):
                number += 1
                kind = "vip" if index >= len(rows) - vip_rows else "standard"
                if (label, number) in pairs:
                    kind = "wheelchair"
                elif (label, number) in companions:
                    kind = "companion"
                seats.append(DemoSeat(label, number, x, float(index), kind, (label, number) in blocked_set,
                                      companions.get((label, number))))
                x += 1.0
    return seats


def grand_screen() -> list[DemoSeat]:
    """The flagship ~500-seat screen: rows A–T, two side aisles and a centre aisle, VIP at the back."""
    rows = []
    for index in range(20):
        # The hall widens towards the back; the centre blocks stay 8 seats so the aisles line up.
        wing = 3 if index < 4 else 5 if index < 12 else 6
        rows.append((wing, 8, 8, wing))
    return build_seats(
        rows,
        vip_rows=3,
        # Each wheelchair place sits on an aisle with its companion seat beside it, inboard.
        accessible=[("A", 4, 5), ("A", 11, 10), ("A", 12, 13), ("A", 19, 18)],
        # J1/J26 stand beside the structural pillars; T1–T2 make room for the premiere camera.
        blocked=[("J", 1), ("J", 26), ("T", 1), ("T", 2)],
    )


def studio_screen() -> list[DemoSeat]:
    """A ~120-seat screen: rows A–J either side of a centre aisle, the back two rows VIP."""
    rows = [(5, 5)] + [(6, 6)] * 9
    return build_seats(rows, vip_rows=2, accessible=[("A", 1, 2), ("A", 10, 9)])


def club_screen() -> list[DemoSeat]:
    """A ~60-seat screen: rows A–F either side of a centre aisle, the back two rows VIP."""
    # F10 stays empty: the exit door swings over it.
    return build_seats([(5, 5)] * 6, vip_rows=2, accessible=[("A", 1, 2)], blocked=[("F", 10)])


LAYOUTS = {"grand": grand_screen, "studio": studio_screen, "club": club_screen}

# BBFC-style badge colours per certificate.
BADGE = {"U": "#1f9d55", "PG": "#e3b505", "12A": "#f08a24", "15": "#e5418c", "18": "#d7263d"}


def _title_lines(title: str, most: int = 14) -> list[str]:
    # Aim for evenly filled lines rather than a long first line and a stray last word.
    width = max(max(len(word) for word in title.split()), -(-len(title) // -(-len(title) // most)) + 3)
    lines: list[str] = []
    for word in title.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def _motif(name: str, accent: str) -> str:
    """A quiet geometric shape behind the title, one of a few kinds."""
    shapes = {
        "sun": f'<circle cx="200" cy="230" r="120" fill="{accent}" opacity="0.35"/>',
        "rings": "".join(
            f'<circle cx="200" cy="230" r="{r}" fill="none" stroke="{accent}" stroke-width="3" opacity="0.4"/>'
            for r in (40, 80, 120, 160)
        ),
        "peaks": f'<path d="M0 380 L110 200 L170 290 L250 150 L400 380 Z" fill="{accent}" opacity="0.35"/>',
        "waves": "".join(
            f'<path d="M0 {y} Q100 {y - 30} 200 {y} T400 {y}" fill="none" stroke="{accent}" '
            f'stroke-width="4" opacity="0.4"/>'
            for y in (200, 240, 280, 320)
        ),
        "bars": "".join(
            f'<rect x="{x}" y="120" width="18" height="{h}" fill="{accent}" opacity="0.35"/>'
            for x, h in ((90, 220), (130, 170), (170, 250), (210, 140), (250, 230), (290, 190))
        ),
        "window": f'<rect x="110" y="110" width="180" height="240" rx="90" fill="none" stroke="{accent}" '
                  f'stroke-width="6" opacity="0.5"/><line x1="200" y1="110" x2="200" y2="350" '
                  f'stroke="{accent}" stroke-width="4" opacity="0.5"/>',
    }
    return shapes[name]


def poster_svg(title: str, director: str, certificate: str, colours: tuple[str, str, str], motif: str) -> str:
    """A simple poster: gradient background, a motif, the title, the director and a certificate badge."""
    top, bottom, accent = colours
    lines = _title_lines(title)
    size = 44 if max(len(line) for line in lines) <= 10 else 34
    first_y = 440 - (len(lines) - 1) * size * 1.1
    title_text = "".join(
        f'<text x="200" y="{first_y + i * size * 1.1:.0f}" font-size="{size}" font-weight="700" '
        f'text-anchor="middle" fill="#ffffff">{escape(line)}</text>'
        for i, line in enumerate(lines)
    )
    badge = BADGE.get(certificate, "#555555")
    cert_size = 16 if len(certificate) > 2 else 20
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 600" width="400" height="600" '
        f'role="img" aria-label="{escape(title)} poster">\n'
        '<defs><linearGradient id="bg" x1="0" y1="0" x2="0" y2="1">'
        f'<stop offset="0" stop-color="{top}"/><stop offset="1" stop-color="{bottom}"/>'
        '</linearGradient></defs>\n'
        '<rect width="400" height="600" fill="url(#bg)"/>\n'
        f"{_motif(motif, accent)}\n"
        f'<g font-family="Georgia, \'Times New Roman\', serif">{title_text}</g>\n'
        '<text x="200" y="520" font-family="Helvetica, Arial, sans-serif" font-size="13" letter-spacing="3" '
        f'text-anchor="middle" fill="#ffffff" opacity="0.85">A FILM BY {escape(director.upper())}</text>\n'
        '<text x="200" y="572" font-family="Helvetica, Arial, sans-serif" font-size="11" letter-spacing="4" '
        'text-anchor="middle" fill="#ffffff" opacity="0.6">HOUSEFUL CINEMAS</text>\n'
        f'<g><rect x="332" y="20" width="48" height="48" rx="24" fill="{badge}"/>'
        f'<text x="356" y="{50 if cert_size == 16 else 51}" font-family="Helvetica, Arial, sans-serif" '
        f'font-size="{cert_size}" font-weight="700" text-anchor="middle" fill="#ffffff">'
        f"{escape(certificate)}</text></g>\n"
        "</svg>\n"
    )
