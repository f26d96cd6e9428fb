"""Opaque cursors for keyset pagination (ARCHITECTURE.md §2.3 lists)."""
from __future__ import annotations

import base64
import uuid
from decimal import Decimal

import pytest

from sales.core.errors import InvalidInput
from sales.core.http import decode_cursor, encode_cursor, page_of


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
