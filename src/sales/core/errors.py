"""One error base carrying its HTTP status and a stable machine-readable code, rendered as RFC 9457."""
from __future__ import annotations

from typing import Any


class SalesError(Exception):
    status_code: int = 400
    code: str = "bad_request"
    title: str = "Bad request"

    def __init__(self, detail: str | None = None, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra or {}


class NotAuthenticated(SalesError):
    status_code, code, title = 401, "not_authenticated", "Not authenticated"


class Forbidden(SalesError):
    status_code, code, title = 403, "forbidden", "Forbidden"


class NotFound(SalesError):
    status_code, code, title = 404, "not_found", "Not found"


class Conflict(SalesError):
    status_code, code, title = 409, "conflict", "Conflict"


class InvalidInput(SalesError):
    """A semantically invalid payload (unknown RM, end before start...): 422 naming the field."""

    status_code, code, title = 422, "validation_error", "Validation error"

    def __init__(self, loc: tuple[str | int, ...] | list[str | int], msg: str, *, where: str = "body") -> None:
        super().__init__(msg, extra={"errors": [{"loc": [where, *loc], "msg": msg}]})

    @classmethod
    def query(cls, loc: tuple[str | int, ...], msg: str) -> "InvalidInput":
        return cls(loc, msg, where="query")


def problem(status: int, title: str, detail: str, *, code: str, type_: str | None = None,
            **extra: Any) -> dict[str, Any]:
    return {"type": type_ or f"https://errors.mysqrft.com/sales/{code}", "title": title,
            "status": status, "detail": detail, "code": code, **extra}
