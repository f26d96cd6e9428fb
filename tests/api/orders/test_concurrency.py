"""Concurrent deliveries on one order (issue 10 §2; issue 9's read-then-write class): on both databases the
refund total never passes the amount, an order is created once, the newest usage measurement wins."""
from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

from sales.orders.models import order_refunds, orders
from sales.usage.models import plan_usage
from tests.builders import API
from tests.checks import audit_rows, count, fetch
from tests.commerce_builders import EVENTS, event, make_plan, payment, refund, send, statuses


async def test_parallel_refunds_never_exceed_the_order_amount(client, auth, engine):
    plan = await make_plan(client, auth.admin, price=Decimal("500.00"))
    data = payment(plan, amount=Decimal("500.00"))
    assert await statuses(client, auth, event("billing.payment.completed", data)) == ["PROCESSED"]
    service = auth.headers("SERVICE")
    refunds = [event("billing.refund.completed", refund(data["order_id"], "100.00")) for _ in range(12)]
    responses = await asyncio.gather(*(send(client, "POST", EVENTS, r, service) for r in refunds))
    assert [r.status_code for r in responses] == [200] * 12, [r.text for r in responses if r.status_code != 200]
    outcomes = [r.json()["items"][0]["status"] for r in responses]
    assert sorted(outcomes) == ["PARKED"] * 7 + ["PROCESSED"] * 5
    [row] = await fetch(engine, orders)
    assert (row.refunded_amount, row.status) == (Decimal("500.00"), "REFUNDED")
    assert await count(engine, order_refunds) == 5


async def test_parallel_puts_of_one_new_order_create_it_once(client, auth, engine):
    plan = await make_plan(client, auth.admin)
    order_id = str(uuid.uuid4())
    body = {"user_id": str(uuid.uuid4()), "user_type": "TENANT", "plan_id": plan["id"],
            "amount": Decimal("1499.00"), "currency": "INR", "paid_at": "2026-01-05T10:00:00Z"}
    responses = await asyncio.gather(*(send(client, "PUT", f"{API}/orders/{order_id}", body, auth.admin)
                                       for _ in range(8)))
    assert sorted(r.status_code for r in responses) == [200] * 7 + [201], [r.text for r in responses]
    assert await count(engine, orders) == 1
    assert [e.action for e in await audit_rows(engine, entity_type="order")] == ["order.recorded"]


async def test_parallel_usage_updates_keep_the_newest(client, auth, engine):
    plan = await make_plan(client, auth.admin)
    user = str(uuid.uuid4())
    minutes = list(range(10))
    service = auth.headers("SERVICE")
    batch = [event("entitlements.usage.updated", {"user_id": user, "plan_id": plan["id"], "quota": 25, "used": m,
                                                  "quota_name": "owner_contacts", "at": f"2026-01-10T10:0{m}:00Z"})
             for m in reversed(minutes)]
    responses = await asyncio.gather(*(send(client, "POST", EVENTS, e, service) for e in batch))
    assert all(r.status_code == 200 and r.json()["items"][0]["status"] == "PROCESSED" for r in responses)
    [row] = await fetch(engine, plan_usage)
    assert row.used == 9
