"""Input field types shared by request bodies and consumed event payloads.

Every text fits its column and never carries a NUL character (PostgreSQL refuses NUL in text and JSON);
every timestamp has an offset and is converted to UTC here, so one that overflows on conversion is a 422
(or a parked event), never a 500.
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, Field


def no_nul(value: Any) -> Any:
    """Reject NUL characters anywhere in a string, list or JSON object (keys included)."""
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("must not contain NUL characters")
    elif isinstance(value, dict):
        for key, item in value.items():
            no_nul(key)
            no_nul(item)
    elif isinstance(value, list):
        for item in value:
            no_nul(item)
    return value


def Text(max_length: int, *, min_length: int = 1, pattern: str | None = None) -> Any:  # noqa: N802 - a type
    """A string of at most `max_length` characters (the column's size) without NUL."""
    return Annotated[str, Field(min_length=min_length, max_length=max_length, pattern=pattern),
                     AfterValidator(no_nul)]


def _to_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("out of range once converted to UTC") from None


UTCTimestamp = Annotated[AwareDatetime, AfterValidator(_to_utc)]
