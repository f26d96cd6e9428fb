"""The audit chain's canonical form (core/audit_chain.py) hashes every stored row: its faster spelling (issue 19)
must write exactly what the first one wrote, or every chain stops verifying."""
from __future__ import annotations

import enum
import json
import uuid
from collections import OrderedDict
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from sales.core.audit_chain import _canonical


def _reference(value: Any) -> str:
    """The canonical form as first written (issue 20)."""
    if value is None or isinstance(value, bool | str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int | float | Decimal):
        number = Decimal(str(value)).normalize()
        return format(number, "f") if number == number.to_integral_value() else str(number)
    if isinstance(value, UUID):
        return json.dumps(str(value))
    if isinstance(value, datetime):
        return json.dumps(value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    if isinstance(value, list | tuple):
        return "[" + ",".join(_reference(item) for item in value) + "]"
    if isinstance(value, dict):
        items = sorted((str(key), item) for key, item in value.items())
        return "{" + ",".join(f"{json.dumps(key, ensure_ascii=False)}:{_reference(item)}" for key, item in items) + "}"
    raise TypeError(f"cannot chain a {type(value).__name__}")


class Color(enum.StrEnum):
    RED = "RED"


class Level(enum.IntEnum):
    HIGH = 3


VALUES = [
    None, True, False, "", "plain", 'quote " backslash \\ slash /', "tab\tnewline\n\x00\x1f", "ünïcødé ₹ 😀 \u2028",
    Color.RED, Level.HIGH, 0, 7, -12, 10 ** 17, 10 ** 18, 10 ** 30 + 1, -(10 ** 29), 0.1, 1e-06, 1.0, -2.5e20,
    float("nan"), float("inf"), Decimal("25000.00"), Decimal("1E+2"), Decimal("-0.000"), Decimal("3.14159"),
    uuid.UUID("58e00e8c-64be-4012-b312-41a982f11ec0"), datetime(2026, 12, 1, 6, 0, 0, 123456, tzinfo=UTC),
    datetime(2026, 12, 1, 11, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))), [], (), [1, "a", None],
    ("x", [Decimal("1.10"), {"k": 2}]), {}, {"b": 1, "a": [True, None], 3: "int key", "ü": {"z": 0.5}},
    OrderedDict([("z", 1), ("a", 2)]),
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_canonical_form_is_unchanged(value: Any) -> None:
    assert _canonical(value) == _reference(value)


def test_a_whole_audit_row_is_unchanged() -> None:
    row = {"id": uuid.uuid4(), "at": datetime.now(UTC), "actor_roles": ["SERVICE"], "before": None,
           "after": {name: value for name, value in zip("abcdefghijklmnopqrstuvwxyz", VALUES)}, "partition": 3}
    assert _canonical(row) == _reference(row)


def test_what_cannot_be_chained_is_refused() -> None:
    with pytest.raises(TypeError):
        _canonical({"x": object()})
