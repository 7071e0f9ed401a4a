"""The test factory builds what the live-seat tests rely on."""
from __future__ import annotations


async def test_make_screening_builds_seats_and_companions(make_screening, pg) -> None:
    s = await make_screening(rows=2, per_row=5, kinds={("A", 1): "wheelchair", ("A", 2): "companion"})
    assert len(s["seats"]) == 10
    companion = await pg.fetchval("SELECT companion_of FROM seat WHERE id = $1", s["seats"]["A2"])
    assert companion == s["seats"]["A1"]
    prices = await pg.fetchval("SELECT prices FROM screening WHERE id = $1", s["screening_id"])
    assert set(__import__("orjson").loads(prices)) == {"standard", "wheelchair", "companion"}
