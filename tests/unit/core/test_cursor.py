"""Opaque cursors for keyset pagination (ARCHITECTURE.md §2.3 lists)."""
from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from sales.core.errors import InvalidInput
from sales.core.http import (AFTER_SEQ, AFTER_TIME_AND_ID, after_name_and_id, cursor_after, decode_cursor,
                             encode_cursor, page_of)


def test_cursor_round_trips_values_as_json():
    key = uuid.uuid4()
    cursor = encode_cursor("2026-01-17T10:30:00+00:00", key, 42, Decimal("1.50"))
    assert "=" not in cursor and "/" not in cursor and "+" not in cursor
    assert decode_cursor(cursor) == ["2026-01-17T10:30:00+00:00", str(key), 42, "1.50"]


@pytest.mark.parametrize("cursor", [
    pytest.param("%%%not-base64", id="not-base64"),
    pytest.param(base64.urlsafe_b64encode(b"not json").decode(), id="not-json"),
    pytest.param(base64.urlsafe_b64encode(b'{"a": 1}').decode(), id="not-a-list"),
    pytest.param(base64.urlsafe_b64encode(b"\xff\xfe").decode(), id="not-utf8"),
])
def test_malformed_cursor_is_a_422_naming_the_query_parameter(cursor):
    with pytest.raises(InvalidInput) as caught:
        decode_cursor(cursor)
    assert caught.value.status_code == 422
    assert caught.value.extra["errors"] == [{"loc": ["query", "cursor"], "msg": "malformed cursor"}]


def test_page_of_sets_next_cursor_only_when_more_rows_exist():
    rows = [{"n": i} for i in range(4)]
    full = page_of(rows, 3, lambda r: (r["n"],))
    assert full["items"] == rows[:3] and decode_cursor(full["next_cursor"]) == [2]
    last = page_of(rows[:3], 3, lambda r: (r["n"],))
    assert last == {"items": rows[:3], "next_cursor": None}
    assert page_of([], 3, lambda r: (r["n"],)) == {"items": [], "next_cursor": None}


@pytest.mark.parametrize(("values", "shape"), [
    pytest.param(["2026-01-17T10:30:00", str(uuid.uuid4())], AFTER_TIME_AND_ID, id="naive-datetime"),
    pytest.param(["0001-01-01T00:00:00+14:00", str(uuid.uuid4())], AFTER_TIME_AND_ID, id="overflowing-datetime"),
    pytest.param(["2026-01-17T10:30:00Z", "not-a-uuid"], AFTER_TIME_AND_ID, id="bad-uuid"),
    pytest.param(["2026-01-17T10:30:00Z"], AFTER_TIME_AND_ID, id="too-few-values"),
    pytest.param([2**63], AFTER_SEQ, id="seq-of-2**63"),
    pytest.param([-1], AFTER_SEQ, id="negative-seq"),
    pytest.param([1.5], AFTER_SEQ, id="fractional-seq"),
    pytest.param([None], AFTER_SEQ, id="null-seq"),
    pytest.param(["Pri\x00ya", str(uuid.uuid4())], after_name_and_id(200), id="nul-in-name"),
    pytest.param(["P" * 201, str(uuid.uuid4())], after_name_and_id(200), id="name-longer-than-its-column"),
])
def test_cursor_contents_are_validated_before_they_reach_sql(values, shape):
    """issue 9 item 7: a cursor comes back from the client; out-of-range values were 500s."""
    with pytest.raises(InvalidInput) as caught:
        cursor_after(values, shape)
    assert caught.value.extra["errors"] == [{"loc": ["query", "cursor"], "msg": "malformed cursor"}]


def test_a_valid_cursor_yields_its_typed_sort_key():
    key = uuid.uuid4()
    assert cursor_after(["2026-01-17T16:00:00+05:30", str(key)], AFTER_TIME_AND_ID) == (
        datetime(2026, 1, 17, 10, 30, tzinfo=UTC), key)
    assert cursor_after([2**63 - 1], AFTER_SEQ) == (2**63 - 1,)
    assert cursor_after(None, AFTER_SEQ) is None
