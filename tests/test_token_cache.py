"""Verified access tokens are remembered until their expiry on the app's clock, never beyond it."""
from __future__ import annotations

from server.domain.tokens import AccessTokens, issue_access

SECRET = "a-test-secret-of-enough-length-for-hs256"


async def test_a_remembered_token_stops_working_at_its_expiry(client, make_user, clock, settings) -> None:
    user = await make_user()
    assert (await client.get("/api/me", headers=user["headers"])).status == 200  # verified, remembered
    assert (await client.get("/api/me", headers=user["headers"])).status == 200  # answered from memory
    clock.advance(settings.auth.access_token_seconds - 5)
    assert (await client.get("/api/me", headers=user["headers"])).status == 200
    clock.advance(10)  # past its expiry on the app's clock
    resp = await client.get("/api/me", headers=user["headers"])
    assert resp.status == 401 and (await resp.json())["error"]["code"] == "unauthorized"


def test_a_tampered_or_foreign_token_is_refused_even_when_the_original_is_remembered(clock) -> None:
    tokens = AccessTokens(SECRET)
    token, _ = issue_access(7, "customer", SECRET, 60, now=clock.time())
    assert tokens.read(token, now=clock.time()).user_id == 7
    head, claims, signature = token.split(".")
    forged = ".".join((head, claims, signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")))
    assert tokens.read(forged, now=clock.time()) is None
    foreign, _ = issue_access(7, "admin", "another-secret-of-enough-length-for-hs256", 60, now=clock.time())
    assert tokens.read(foreign, now=clock.time()) is None


def test_the_memory_is_bounded_least_recently_used_first(clock) -> None:
    tokens = AccessTokens(SECRET, size=3)
    now = clock.time()
    issued = [issue_access(k, "customer", SECRET, 60, now=now)[0] for k in range(4)]
    for token in issued[:3]:
        tokens.read(token, now=now)
    tokens.read(issued[0], now=now)  # used again: the oldest is now token 1
    tokens.read(issued[3], now=now)
    assert list(tokens._known) == [issued[2], issued[0], issued[3]]
    assert [tokens.read(t, now=now).user_id for t in issued] == [0, 1, 2, 3]  # forgotten ones verify again
