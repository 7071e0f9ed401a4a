"""Domain errors: raised by the domain, mapped to HTTP or WebSocket error codes at the edges.

Also which exceptions mean "a store is out" (STORE_OUTAGES): the edges map those, in one place
each (the errors middleware, the socket core), to 503 / `unavailable` with a Retry-After.
"""
from __future__ import annotations

import asyncpg
from redis.exceptions import RedisError, SlotNotCoveredError

from server.sentences import for_people

# How long a client is told to wait before trying again after a store outage (seconds).
RETRY_AFTER_SECONDS = 5
# A store that cannot answer right now — down, restarting, unreachable, out of connections, or
# slower than its timeout. Not a bug and not the caller's fault: the same request may work when
# tried again, and the pools reconnect by themselves once the store is back.
STORE_OUTAGES: tuple[type[BaseException], ...] = (
    RedisError,  # connection refused/reset, timeouts, LOADING after a restart, OOM
    SlotNotCoveredError,  # a Redis Cluster slot without a reachable primary (a failover under way)
    OSError,  # a refused or reset connection while asyncpg (re)connects
    TimeoutError,  # asyncpg's command_timeout, a pool acquire that waited too long
    asyncpg.PostgresConnectionError,  # the connection died mid-query (ConnectionDoesNotExistError)
    asyncpg.CannotConnectNowError,  # the server is starting up or shutting down
    asyncpg.AdminShutdownError,  # pg_ctl stop (fast/immediate) terminated our connection
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
    # asyncpg's protocol state machine when the server ends the session under a running query
    # ("cannot switch to state N; another operation is in progress", MagicStack/asyncpg#1069).
    asyncpg.InternalClientError,
)


def is_store_outage(exc: BaseException | None) -> bool:
    """Whether an exception means a store is out: one of STORE_OUTAGES, or raised while handling one.

    The second case is real: when PostgreSQL ends a session inside `async with conn.transaction()`,
    the transaction's exit fails with "the underlying connection is closed" (an InterfaceError,
    which otherwise signals misuse) on top of the error that ended the session.
    """
    for _ in range(8):  # a chain is short; never loop on a cycle
        if exc is None:
            return False
        if isinstance(exc, STORE_OUTAGES) or (
                isinstance(exc, asyncpg.InterfaceError) and "connection is closed" in str(exc)):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


class DomainError(Exception):
    """Base of every error a client may see. `code` is stable; `status` is the HTTP mapping."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, field: str | None = None, **extra: object) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.extra = extra

    def to_dict(self) -> dict[str, object]:
        """The JSON error body: code, the message as a sentence and, when known, the field at fault."""
        out: dict[str, object] = {"code": self.code, "message": for_people(self.message, self.field)}
        if self.field:
            out["field"] = self.field
        out.update(self.extra)
        return out


class InvalidInput(DomainError):
    status, code = 400, "invalid"


class InvalidJson(DomainError):
    status, code = 400, "invalid_json"


class UnsupportedMediaType(DomainError):
    status, code = 415, "unsupported_media_type"


class Unauthorized(DomainError):
    status, code = 401, "unauthorized"


class Forbidden(DomainError):
    status, code = 403, "forbidden"


class NotFound(DomainError):
    status, code = 404, "not_found"


class RateLimited(DomainError):
    status, code = 429, "rate_limited"

    def __init__(self, message: str, retry_after: int, field: str | None = None) -> None:
        super().__init__(message, field)
        self.retry_after = max(1, int(retry_after))


class Unavailable(DomainError):
    status, code = 503, "unavailable"
    retry_after = RETRY_AFTER_SECONDS


def error_class(name: str, status: int, code: str) -> type[DomainError]:
    """Declare a domain error with its own stable code (e.g. SeatTaken -> 409 seat_taken)."""
    return type(name, (DomainError,), {"status": status, "code": code})
