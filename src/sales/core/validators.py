"""Input field types shared by request and event payload schemas: text that fits its column and holds no NUL
(PostgreSQL refuses NUL in text and JSONB), aware datetimes converted to UTC without overflowing."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, Field


def no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def text(max_length: int, *, min_length: int = 0, pattern: str | None = None) -> Any:
    """A `str` field of at most `max_length` characters (its column's size), without NUL characters."""
    return Annotated[str, Field(min_length=min_length, max_length=max_length, pattern=pattern),
                     AfterValidator(no_nul)]


def _utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError("timestamp out of range") from None


# A timestamp with an offset (naive ones are refused), converted to UTC.
UTCDateTime = Annotated[AwareDatetime, AfterValidator(_utc)]
