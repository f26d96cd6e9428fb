"""Input types: every value the API accepts fits its column and is safe to compute with (issue 9 item 7)."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

import pytest
from pydantic import Field, TypeAdapter, ValidationError

from sales.core.fields import (MAX_JSON_DEPTH, MAX_JSON_VALUES, City, JSONObject, Text, UTCDatetime,
                               json_problems)

utc_datetime = TypeAdapter(UTCDatetime)


@pytest.mark.parametrize(("given", "expected"), [
    ("2026-01-17T16:00:00+05:30", datetime(2026, 1, 17, 10, 30, tzinfo=UTC)),
    ("2026-01-17T10:30:00Z", datetime(2026, 1, 17, 10, 30, tzinfo=UTC)),
    ("9999-12-31T23:59:59+00:00", datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)),
])
def test_instants_with_an_offset_are_converted_to_utc(given, expected):
    value = utc_datetime.validate_python(given)
    assert value == expected and value.utcoffset().total_seconds() == 0


@pytest.mark.parametrize(("given", "message"), [
    pytest.param("2026-01-17T10:30:00", "needs a UTC offset", id="naive"),
    pytest.param("0001-01-01T00:00:00+14:00", "out of range once converted to UTC", id="underflows-to-utc"),
    pytest.param("9999-12-31T23:59:59-14:00", "out of range once converted to UTC", id="overflows-to-utc"),
    pytest.param("1899-12-31T23:59:59Z", "years 1900 to 9999", id="before-1900"),
])
def test_naive_overflowing_or_implausible_instants_are_refused(given, message):
    """issue 9 item 7: these were 500s when compared with (or stored in) a UTC column."""
    with pytest.raises(ValidationError, match=message):
        utc_datetime.validate_python(given)


def test_text_refuses_nul_characters():
    """issue 9 item 7: PostgreSQL cannot store NUL, so no database is given one."""
    text = TypeAdapter(Annotated[Text, Field(max_length=10)])
    assert text.validate_python("Pune") == "Pune"
    with pytest.raises(ValidationError, match="NUL"):
        text.validate_python("Pu\x00ne")
    with pytest.raises(ValidationError, match="at most 10"):
        text.validate_python("P" * 11)


def test_a_city_must_still_fit_its_column_once_lower_cased():
    """'İ' lower-cases to two characters; cities are indexed lower-cased in String(100) columns."""
    city = TypeAdapter(City)
    assert city.validate_python("İ" * 50) == "İ" * 50
    with pytest.raises(ValidationError, match="once lower-cased"):
        city.validate_python("İ" * 51)
    with pytest.raises(ValidationError, match="at most 100"):
        city.validate_python("c" * 101)


def _nested(depth: int) -> dict:
    document: dict = {"leaf": 1}
    for _ in range(depth - 1):
        document = {"a": document}
    return document


@pytest.mark.parametrize(("document", "loc", "message"), [
    pytest.param({"a\x00": 1}, ["a\x00"], "keys must not contain NUL", id="nul-in-key"),
    pytest.param({"a": [{"b": "x\x00"}]}, ["a", 0, "b"], "must not contain NUL", id="nul-in-nested-value"),
    pytest.param({"n": 2**63}, ["n"], "64 bits", id="int-too-large"),
    pytest.param({"n": -2**63 - 1}, ["n"], "64 bits", id="int-too-small"),
    pytest.param({"n": Decimal("1E+999999")}, ["n"], "out of range", id="number-beyond-numeric"),
    pytest.param({"n": Decimal("NaN")}, ["n"], "finite", id="nan"),
    pytest.param({"n": float("inf")}, ["n"], "finite", id="infinity"),
])
def test_json_problems_name_the_part_that_cannot_be_stored(document, loc, message):
    problems = json_problems(document)
    assert len(problems) == 1 and problems[0]["loc"] == loc and message in problems[0]["msg"]


def test_json_nesting_and_size_are_bounded_without_recursion():
    assert json_problems(_nested(MAX_JSON_DEPTH)) == []
    assert "nested deeper" in json_problems(_nested(MAX_JSON_DEPTH + 2))[0]["msg"]
    assert "nested deeper" in json_problems(_nested(50_000))[0]["msg"]  # far past Python's recursion limit
    assert "at most" in json_problems({"items": list(range(MAX_JSON_VALUES))})[0]["msg"]


def test_json_object_accepts_ordinary_documents_and_names_the_bad_path():
    document = TypeAdapter(JSONObject)
    ordinary = {"budget": Decimal("2500000.00"), "bhk": 2, "tags": ["metro", None, True], "note": "नमस्ते"}
    assert document.validate_python(ordinary) == ordinary
    with pytest.raises(ValidationError, match=r"tags\.1: must not contain NUL"):
        document.validate_python({"tags": ["ok", "\x00"]})
