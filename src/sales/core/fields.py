"""Types of what the API accepts: every value fits its column and is safe to compute with.

Request models and parameters use these instead of bare `str`, `datetime` or `dict[str, Any]`;
tests/unit/core/test_request_models.py walks every route to hold that.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

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


# --- Scalars of the published JSON type only -------------------------------------------------------------------
# Pydantic's lax mode converts a value of another JSON type than the published one (0 or "yes" to a boolean, true
# or "5" to an integer, 0 or 0.5 to a date or a timestamp): these refuse it. A query parameter arrives as text, so
# its types read the one text form the schema publishes ("true"/"false", ASCII digits, ISO 8601 dates).
_QUERY_INTEGER = re.compile(r"-?[0-9]{1,19}")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ISO_DATETIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T.*", re.DOTALL)


def json_boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def query_boolean(value: Any) -> bool:
    if value in ("true", "false"):
        return bool(value == "true")
    return json_boolean(value)


def json_integer(value: Any) -> int:
    """An integer, or a JSON number with no fraction (260.0 is an integer to JSON Schema too); never a boolean."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float | Decimal) and _whole(value):
        return int(value)
    raise ValueError("must be an integer")


def _whole(number: float | Decimal) -> bool:
    return math.isfinite(number) and INT64_MIN <= number <= INT64_MAX and number == int(number)


def query_integer(value: Any) -> int:
    """An integer written as text (a query parameter, a CSV cell): ASCII digits only."""
    if isinstance(value, str):
        if not _QUERY_INTEGER.fullmatch(value):
            raise ValueError("must be an integer (ASCII digits)")
        return int(value)
    return json_integer(value)


def json_number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError("must be a JSON number")
    return value


def iso_date(value: Any) -> Any:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return value
    raise ValueError("must be a date in ISO 8601 form, e.g. 2026-01-17")


def iso_datetime(value: Any) -> Any:
    if isinstance(value, datetime) or (isinstance(value, str) and _ISO_DATETIME.fullmatch(value)):
        return value
    raise ValueError("must be a timestamp in ISO 8601 form, e.g. 2026-01-17T10:30:00Z")


Boolean = Annotated[bool, BeforeValidator(json_boolean)]
"""A JSON true or false in a body (no 0/1, no "true")."""
QueryBoolean = Annotated[bool, BeforeValidator(query_boolean)]
"""A query parameter: `true` or `false`."""
Date = Annotated[date, BeforeValidator(iso_date)]
"""A calendar date written YYYY-MM-DD, in a body or a query, never a number."""


# Numbers take their bounds here, before the type check, so that the published schema carries them as minimum and
# maximum (bounds given on top of a BeforeValidator would be checked but published as bare `ge`/`le` keys).
def bounded_integer(*, ge: int, le: int) -> Any:
    """A JSON integer in a body: `capacity: bounded_integer(ge=0, le=1000) = 25`."""
    return Annotated[int, Field(ge=ge, le=le), BeforeValidator(json_integer)]


def bounded_query_integer(*, ge: int, le: int) -> Any:
    """An integer query parameter of ASCII digits: `limit: Annotated[bounded_query_integer(ge=1, le=500), Query()]`."""
    return Annotated[int, Field(ge=ge, le=le), BeforeValidator(query_integer)]


def bounded_number(*, ge: float, le: float) -> Any:
    """A JSON number in a body, never a boolean or a string."""
    return Annotated[float, Field(ge=ge, le=le), BeforeValidator(json_number)]


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
UTCDatetime = Annotated[datetime, BeforeValidator(iso_datetime), AfterValidator(to_utc), Field(json_schema_extra={
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
