"""Write the app icons (static/icons/*.png, favicon.ico, icon.svg) with a tiny pure-Python PNG writer.

Run: .venv/bin/python -m tests.browser.make_icons   (no imaging library needed)
"""
from __future__ import annotations

import struct
import zlib
from pathlib import Path

ICONS = Path(__file__).resolve().parents[2] / "static" / "icons"
BG = (0x14, 0x12, 0x1F)
SEAT = (0xFF, 0xB5, 0x4D)
# The seat in a 0..1 box: back, cushion, two armrests (x0, y0, x1, y1, corner radius).
SHAPES = [(0.28, 0.22, 0.72, 0.58, 0.06), (0.22, 0.55, 0.78, 0.70, 0.05),
          (0.16, 0.42, 0.27, 0.80, 0.04), (0.73, 0.42, 0.84, 0.80, 0.04)]
SVG = """<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">
<rect width="100" height="100" rx="22" fill="#14121f"/>
<g fill="#ffb54d"><rect x="28" y="22" width="44" height="36" rx="6"/><rect x="22" y="55" width="56" height="15" rx="5"/>
<rect x="16" y="42" width="11" height="38" rx="4"/><rect x="73" y="42" width="11" height="38" rx="4"/></g>
</svg>
"""


def _inside_rounded(x: float, y: float, box: tuple[float, float, float, float, float]) -> bool:
    x0, y0, x1, y1, r = box
    if not (x0 <= x <= x1 and y0 <= y <= y1):
        return False
    cx = min(max(x, x0 + r), x1 - r)
    cy = min(max(y, y0 + r), y1 - r)
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r


def _pixel(px: int, py: int, size: int, scale: float, rounded: bool) -> bytes:
    hits, samples = 0, 0
    outside = 0
    for sy in (0.25, 0.75):
        for sx in (0.25, 0.75):
            u, v = (px + sx) / size, (py + sy) / size
            if rounded and not _inside_rounded(u, v, (0, 0, 1, 1, 0.22)):
                outside += 1
                continue
            su, sv = 0.5 + (u - 0.5) / scale, 0.5 + (v - 0.5) / scale
            hits += any(_inside_rounded(su, sv, s) for s in SHAPES)
            samples += 1
    t = hits / 4
    rgb = [round(BG[i] * (1 - t) + SEAT[i] * t) for i in range(3)]
    return bytes(rgb + [round(255 * (4 - outside) / 4)])


def png(size: int, *, maskable: bool = False) -> bytes:
    """An RGBA PNG of the icon; maskable icons fill the square and keep the seat in the safe zone."""
    scale = 0.8 if maskable else 1.0
    raw = b"".join(
        b"\x00" + b"".join(_pixel(x, y, size, scale, not maskable) for x in range(size)) for y in range(size)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def ico(size: int) -> bytes:
    """favicon.ico holding one PNG image (ICO allows PNG entries; every current browser reads them)."""
    image = png(size)
    entry = struct.pack("<BBBBHHII", size % 256, size % 256, 0, 0, 1, 32, len(image), 6 + 16)
    return struct.pack("<HHH", 0, 1, 1) + entry + image


def main() -> None:
    """Write every icon file."""
    ICONS.mkdir(parents=True, exist_ok=True)
    (ICONS / "icon.svg").write_text(SVG)
    (ICONS / "icon-192.png").write_bytes(png(192))
    (ICONS / "icon-512.png").write_bytes(png(512))
    (ICONS / "icon-maskable-512.png").write_bytes(png(512, maskable=True))
    (ICONS / "favicon.ico").write_bytes(ico(32))


if __name__ == "__main__":
    main()
