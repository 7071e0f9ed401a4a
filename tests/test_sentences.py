"""People read sentences: validator and domain messages become sentences at the edge, once.

Programs keep the stable `code` and `field`; only `message` is worded for people, the same
through HTTP and the WebSocket.
"""
from __future__ import annotations

from typing import Any

from server.sentences import for_people
from tests.wsclient import connect


def test_validator_phrasing_becomes_a_sentence_naming_the_field() -> None:
    assert for_people("count must be bigger than or equal to 1", "count") == "Count must be at least 1."
    assert for_people("latitude must be smaller than or equal to 90", "latitude") == "Latitude must be at most 90."
    assert for_people("body must contain ['email'] properties", "email") == "Email is required."
    assert for_people("body must not contain {'colour'} properties", "colour") == '"colour" is not a field this accepts.'
    assert for_people("prices.vip must be bigger than or equal to 0", "prices.vip") == "VIP price must be at least 0."
    assert for_people("starts_at must be date-time", "starts_at").startswith("Start time must be a date and time")
    assert for_people("kind must be one of ['standard', 'vip']", "kind") == "Kind must be one of: standard, vip."
    # Anything else only gets a capital and a full stop, once.
    assert for_people("log in first") == "Log in first."
    assert for_people("Already a sentence.") == "Already a sentence."


async def test_http_validation_errors_are_sentences_with_code_and_field(client: Any, make_user: Any) -> None:
    admin = await make_user("admin")
    resp = await client.post("/api/cinemas", headers=admin["headers"], json={
        "name": "Far North", "city": "Nowhere", "latitude": 91, "longitude": 0})
    assert resp.status == 400
    assert (await resp.json())["error"] == {"code": "invalid", "field": "latitude",
                                            "message": "Latitude must be at most 90."}
    resp = await client.get("/api/screenings?limit=0")
    assert (await resp.json())["error"] == {"code": "invalid", "field": "limit", "message": "Limit must be at least 1."}
    resp = await client.get("/api/screenings?limit=many")
    assert (await resp.json())["error"] == {"code": "invalid", "field": "limit",
                                            "message": "Limit must be a whole number."}


async def test_websocket_validation_errors_are_sentences(client: Any, make_user: Any, make_screening: Any) -> None:
    user = await make_user()
    screening = await make_screening()
    room = await connect(client, screening["screening_id"], token=user["token"])
    try:
        error = await room.error("hold_best", count=0)
        assert error == {"code": "invalid", "field": "count", "message": "Count must be at least 1."}
    finally:
        await room.close()
