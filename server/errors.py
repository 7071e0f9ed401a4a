"""Domain errors: raised by the domain, mapped to HTTP or WebSocket error codes at the edges."""
from __future__ import annotations


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
        """The JSON error body: code, message and, when known, the field at fault."""
        out: dict[str, object] = {"code": self.code, "message": self.message}
        if self.field:
            out["field"] = self.field
        out.update(self.extra)
        return out


class InvalidInput(DomainError):
    status, code = 400, "invalid"


class InvalidJson(DomainError):
    status, code = 400, "invalid_json"


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


def error_class(name: str, status: int, code: str) -> type[DomainError]:
    """Declare a domain error with its own stable code (e.g. SeatTaken -> 409 seat_taken)."""
    return type(name, (DomainError,), {"status": status, "code": code})
