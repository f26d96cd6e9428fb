"""Types of what the API accepts: every value fits its column and is safe to compute with.

Request models and parameters use these instead of bare `str`, `datetime` or `dict[str, Any]`;
tests/unit/core/test_request_models.py walks every route to hold that.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, Field

NUL = "\x00"
MIN_YEAR, MAX_YEAR = 1900, 9999
MAX_JSON_DEPTH = 32
MAX_JSON_VALUES = 10_000
INT64_MIN, INT64_MAX = -2**63, 2**63 - 1
# JSON numbers with a fraction arrive as Decimal: keep them within what PostgreSQL's numeric (and a float) holds.
MAX_NUMBER_DIGITS, MAX_NUMBER_EXPONENT = 100, 400


def refuse_nul(value: str) -> str:
    """PostgreSQL cannot store NUL in text (nor in JSON): refused on every database alike."""
    if NUL in value:
        raise ValueError("must not contain NUL characters")
    return value


Text = Annotated[str, AfterValidator(refuse_nul)]
"""Any text the API accepts; give it its column's length: `Annotated[Text, Field(max_length=100)]`."""


def _lower_case_within(max_length: int) -> Callable[[str], str]:
    def check(value: str) -> str:
        # Place names are matched and indexed lower-cased; 'İ' lower-cases to two characters.
        if len(value.lower()) > max_length:
            raise ValueError(f"must have at most {max_length} characters once lower-cased")
        return value

    return check


City = Annotated[Text, Field(min_length=1, max_length=100), AfterValidator(_lower_case_within(100))]
Zone = Annotated[Text, Field(max_length=100), AfterValidator(_lower_case_within(100))]
Locality = Annotated[Text, Field(min_length=1, max_length=200), AfterValidator(_lower_case_within(200))]


def to_utc(value: datetime) -> datetime:
    """An instant with an explicit offset, converted to UTC, within the years MIN_YEAR..MAX_YEAR."""
    if value.utcoffset() is None:
        raise ValueError("needs a UTC offset (ISO 8601, e.g. 2026-01-17T10:30:00Z)")
    try:
        value = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range once converted to UTC") from None
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"must fall in the years {MIN_YEAR} to {MAX_YEAR} (UTC)")
    return value


# The published schema says what `to_utc` holds: an offset, and a year from 1900 (a date-time format alone cannot).
UTCDatetime = Annotated[datetime, AfterValidator(to_utc), Field(json_schema_extra={
    "pattern": r"^(19|[2-9][0-9])[0-9]{2}-[0-9]{2}-[0-9]{2}T[^Zz+-]*([Zz]|[+-][0-9]{2}:?[0-9]{2})$"})]


def json_problems(document: Any, loc: tuple[str | int, ...] = ()) -> list[dict[str, Any]]:
    """`{loc, msg}` for each part of a decoded JSON document that cannot be stored: NUL characters in keys
    or strings, nesting deeper than MAX_JSON_DEPTH, more than MAX_JSON_VALUES values, integers beyond
    64 bits, numbers beyond MAX_NUMBER_DIGITS digits or exponent MAX_NUMBER_EXPONENT. Walked without recursion."""
    problems: list[dict[str, Any]] = []
    stack: list[tuple[Any, tuple[str | int, ...], int]] = [(document, loc, 0)]
    seen = 0
    while stack and len(problems) < 10:
        value, at, depth = stack.pop()
        seen += 1
        if seen > MAX_JSON_VALUES:
            return [*problems, {"loc": list(loc), "msg": f"at most {MAX_JSON_VALUES} values"}]
        if depth > MAX_JSON_DEPTH:
            problems.append({"loc": list(at), "msg": f"nested deeper than {MAX_JSON_DEPTH} levels"})
        elif isinstance(value, dict):
            for key, child in value.items():
                if isinstance(key, str) and NUL in key:
                    problems.append({"loc": [*at, key], "msg": "keys must not contain NUL characters"})
                stack.append((child, (*at, str(key)), depth + 1))
        elif isinstance(value, list):
            stack.extend((child, (*at, i), depth + 1) for i, child in enumerate(value))
        elif (problem := _scalar_problem(value)) is not None:
            problems.append({"loc": list(at), "msg": problem})
    return problems


def _scalar_problem(value: Any) -> str | None:
    if isinstance(value, str):
        return "must not contain NUL characters" if NUL in value else None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return None if INT64_MIN <= value <= INT64_MAX else "integers must fit in 64 bits"
    if isinstance(value, float):
        value = Decimal(repr(value))
    if isinstance(value, Decimal):
        if not value.is_finite():
            return "numbers must be finite"
        if len(value.as_tuple().digits) > MAX_NUMBER_DIGITS or abs(value.adjusted()) > MAX_NUMBER_EXPONENT:
            return "number out of range"
    return None


def storable(document: dict[str, Any]) -> dict[str, Any]:
    """`document` itself, or a ValueError naming its first part that `json_problems` finds."""
    problems = json_problems(document)
    if problems:
        first = problems[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ValueError(f"{where + ': ' if where else ''}{first['msg']}")
    return document


JSONObject = Annotated[dict[str, Any], AfterValidator(storable)]
"""A free-form JSON object (lead intent, rule changes) that the database can store as it is."""


def bounded_text(max_length: int, *, min_length: int = 0, pattern: str | None = None) -> Any:
    """One reusable text type of its column's size (and an optional pattern): `Code = bounded_text(64)`."""
    # The constraints before the NUL check, so the published schema carries the pattern too.
    return Annotated[str, Field(min_length=min_length, max_length=max_length, pattern=pattern),
                     AfterValidator(refuse_nul)]
