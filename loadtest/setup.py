"""Arranging a load run through the public API: an admin session, a screening, many customers.

Everything is created the way a real admin and real customers would (no database access), so
the tool works against any deployment. Users are registered through POST /api/auth/register,
which the deployment throttles per IP (auth.registrations_per_hour) and hashes with argon2: a
load target must raise the one and may lower the other (docs/loadtest.md).
"""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

REGISTER_CONCURRENCY = 16


class SetupError(Exception):
    """The deployment refused to set up the run; the message says what to change."""


@dataclass
class Plan:
    """What a run works on: the screening, its seat map, the customers' tokens, and what to clean up."""

    target: str
    screening_id: int
    seat_map: dict[str, Any]
    tokens: list[str] = field(default_factory=list)
    created: dict[str, int] = field(default_factory=dict)  # cinema/auditorium/movie/screening ids
    admin_token: str = ""


class Admin:
    """An admin session against the target's JSON API."""

    def __init__(self, session: aiohttp.ClientSession, target: str, token: str) -> None:
        self.session, self.target, self.token = session, target.rstrip("/"), token

    @classmethod
    async def login(cls, session: aiohttp.ClientSession, target: str, email: str, password: str) -> "Admin":
        """Log in with the admin's credentials."""
        data = await call(session, "POST", target.rstrip("/") + "/api/auth/login",
                          json={"email": email, "password": password})
        if data["user"]["role"] != "admin":
            raise SetupError(f"{email} is not an admin")
        return cls(session, target, data["access_token"])

    async def call(self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = ()) -> Any:
        """One admin API call; raises SetupError on a status not in 2xx or `ok`."""
        return await call(self.session, method, self.target + path, json=body,
                          headers={"Authorization": f"Bearer {self.token}"}, ok=ok)


async def call(session: aiohttp.ClientSession, method: str, url: str, *, ok: tuple[int, ...] = (),
               **kwargs: Any) -> Any:
    """A JSON call that raises SetupError with the server's error message on failure."""
    async with session.request(method, url, **kwargs) as resp:
        text = await resp.text()
        if resp.status >= 300 and resp.status not in ok:
            hint = ""
            if resp.status == 429 and url.endswith("/register"):
                hint = " (raise auth.registrations_per_hour on the target, e.g. HOUSEFUL_AUTH_REGISTRATIONS_PER_HOUR)"
            raise SetupError(f"{method} {url} -> {resp.status}: {text[:300]}{hint}")
        return json.loads(text) if text else None


def grid(rows: int, per_row: int) -> list[str]:
    """An auditorium grid of standard seats, with two aisles in wide rows (S seat, _ aisle)."""
    if per_row < 12:
        return ["S" * per_row] * rows
    side = per_row // 5
    return ["S" * side + "_" + "S" * (per_row - 2 * side) + "_" + "S" * side] * rows


async def create_screening(admin: Admin, rows: int, per_row: int, run: str, price: int = 1200) -> dict[str, int]:
    """A cinema, an auditorium of rows x per_row seats, a movie and a screening in 30 days (by the
    target's clock, which a test may have shifted)."""
    cinema = await admin.call("POST", "/api/cinemas", {
        "name": f"Load test {run}", "city": "Loadtown", "latitude": 51.5, "longitude": -0.12})
    auditorium = await admin.call("POST", "/api/auditoriums", {
        "cinema_id": cinema["id"], "name": f"Screen {run}", "grid": grid(rows, per_row)})
    movie = await admin.call("POST", "/api/movies", {"title": f"The Rush {run}", "runtime_minutes": 120})
    server_now = dt.datetime.fromisoformat((await admin.call("GET", "/api/health"))["time"])
    starts = server_now.replace(microsecond=0) + dt.timedelta(days=30)
    screening = await admin.call("POST", "/api/screenings", {
        "auditorium_id": auditorium["id"], "movie_id": movie["id"], "starts_at": starts.isoformat(),
        "prices": {"standard": price}})
    return {"cinema": cinema["id"], "auditorium": auditorium["id"], "movie": movie["id"],
            "screening": screening["id"]}


async def register_users(session: aiohttp.ClientSession, target: str, count: int, run: str) -> list[dict[str, str]]:
    """Register `count` customers; [{email, password, token}] in order."""
    slots = asyncio.Semaphore(REGISTER_CONCURRENCY)

    async def one(i: int) -> dict[str, str]:
        email = f"lt-{run}-{i}@loadtest.example"
        password = f"Lt{secrets.token_hex(8)}9"
        async with slots:
            data = await call(session, "POST", target.rstrip("/") + "/api/auth/register",
                              json={"email": email, "name": f"Load Tester {i}", "password": password})
        return {"email": email, "password": password, "token": data["access_token"]}

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def login_users(session: aiohttp.ClientSession, target: str, users: list[dict[str, str]]) -> list[str]:
    """Fresh access tokens for known users (tokens are short-lived)."""
    slots = asyncio.Semaphore(REGISTER_CONCURRENCY)

    async def one(user: dict[str, str]) -> str:
        async with slots:
            data = await call(session, "POST", target.rstrip("/") + "/api/auth/login",
                              json={"email": user["email"], "password": user["password"]})
        return data["access_token"]

    return list(await asyncio.gather(*(one(u) for u in users)))


async def customers(session: aiohttp.ClientSession, target: str, count: int, run: str,
                    users_file: str | None) -> list[str]:
    """`count` customer tokens: from users_file (registering and appending any missing), else new users."""
    known: list[dict[str, str]] = []
    path = Path(users_file) if users_file else None
    if path is not None and path.exists():
        known = json.loads(path.read_text())
    tokens = await login_users(session, target, known[:count]) if known else []
    if len(tokens) < count:
        fresh = await register_users(session, target, count - len(tokens), run)
        tokens += [u["token"] for u in fresh]
        if path is not None:
            keep = [{"email": u["email"], "password": u["password"]} for u in fresh]
            path.write_text(json.dumps(known + keep, indent=0))
    return tokens


async def prepare(session: aiohttp.ClientSession, target: str, *, admin: Admin | None, screening_id: int | None,
                  users: int, rows: int, per_row: int, users_file: str | None = None) -> Plan:
    """Everything a run needs; creates the screening unless one is given."""
    run = secrets.token_hex(3)
    created: dict[str, int] = {}
    if screening_id is None:
        if admin is None:
            raise SetupError("creating a screening needs admin credentials (--admin-email/--admin-password "
                             "or --admin-token), or pass --screening ID")
        created = await create_screening(admin, rows, per_row, run)
        screening_id = created["screening"]
    seat_map = await call(session, "GET", f"{target.rstrip('/')}/api/screenings/{screening_id}/seats")
    tokens = await customers(session, target, users, run, users_file) if users else []
    return Plan(target, screening_id, seat_map, tokens, created, admin.token if admin else "")


async def open_waiting_room(admin: Admin | None, screening_id: int, rate: int, most: int = 0) -> None:
    """Turn the screening's waiting room on (always): `rate` admissions a second, `most` shoppers (0: defaults)."""
    if admin is None:
        raise SetupError("--waiting-room needs admin credentials (--admin-email/--admin-password or --admin-token)")
    body: dict[str, Any] = {"mode": "always", "paused": False}
    if rate:
        body["admit_per_second"] = rate
    if most:
        body["max_active"] = most
    await admin.call("PUT", f"/api/screenings/{screening_id}/waiting-room", body)


async def cleanup(admin: Admin, plan: Plan) -> list[str]:
    """Remove what the run created; a screening with orders is cancelled instead. Returns what stayed."""
    kept: list[str] = []
    if "screening" not in plan.created:
        return kept
    sid = plan.created["screening"]
    gone = await admin.call("DELETE", f"/api/screenings/{sid}", ok=(409,))
    if gone is not None and "error" in gone:
        await admin.call("POST", f"/api/screenings/{sid}/cancel", ok=(409,))
        kept.append(f"screening {sid} (cancelled: it has orders)")
        return kept
    for kind, path in (("movie", "/api/movies/"), ("auditorium", "/api/auditoriums/"), ("cinema", "/api/cinemas/")):
        answer = await admin.call("DELETE", path + str(plan.created[kind]), ok=(409,))
        if answer is not None and "error" in answer:
            kept.append(f"{kind} {plan.created[kind]}")
    return kept
