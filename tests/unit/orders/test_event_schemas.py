"""docs/events holds the contracts of the commerce events Sales consumes (issue 10 §2), and every handler's
type has one."""
from __future__ import annotations

import uuid

import pytest

from sales.events.registry import handlers_for
from tests.events_schema import errors_of, schema_types

CONSUMED = {"billing.payment.completed": "sales.orders.handlers",
            "billing.refund.completed": "sales.orders.handlers",
            "entitlements.plan.expired": "sales.orders.handlers",
            "entitlements.usage.updated": "sales.usage.handlers"}


def envelope(type_: str, data: dict) -> dict:  # type: ignore[type-arg]
    return {"specversion": "1.0", "id": "e1", "source": "/mysqrft/billing", "type": type_,
            "time": "2026-01-10T10:00:00Z", "datacontenttype": "application/json", "data": data}


def test_every_consumed_commerce_type_has_a_schema_and_a_handler():
    assert set(CONSUMED) <= schema_types()
    for type_, module in CONSUMED.items():
        assert module in {fn.__module__ for fn in handlers_for(type_)}


U = str(uuid.uuid4())


@pytest.mark.parametrize(("type_", "data", "field"), [
    ("billing.payment.completed", {"payment_id": U, "order_id": U, "user_id": U, "user_type": "AGENT",
                                   "plan_id": U, "amount": 1.0, "currency": "INR",
                                   "paid_at": "2026-01-10T10:00:00Z"}, "user_type"),
    ("billing.payment.completed", {"order_id": U}, "data"),
    ("billing.refund.completed", {"refund_id": U, "order_id": U, "amount": 0, "completed_at": "2026-01-10T10:00:00Z"},
     "amount"),
    ("entitlements.plan.expired", {"user_id": U, "plan_id": U, "order_id": "x", "expired_at": "2026-01-10T10:00:00Z"},
     "order_id"),
    ("entitlements.usage.updated", {"user_id": U, "plan_id": U, "quota_name": "contacts", "quota": 5, "used": -1,
                                    "at": "2026-01-10T10:00:00Z"}, "used"),
])
def test_schemas_reject_broken_payloads(type_, data, field):
    assert any(field in problem for problem in errors_of(envelope(type_, data)))
