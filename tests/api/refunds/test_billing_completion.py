"""billing.refund.completed on refund requests (issue 12): PROCESSING -> COMPLETED with sales.refund.processed,
the order's refunded amount (orders handler) and the customer told; duplicates and contradictions."""
from __future__ import annotations

import uuid
from decimal import Decimal

from sales.notifications.models import notifications
from sales.refunds.models import refunds
from tests.api.refunds.test_refund_requests_api import REFUNDS, body, bought
from tests.builders import API
from tests.checks import events, exact_json, fetch
from tests.commerce_builders import deliver, event, send, statuses


def completed(refund, **overrides):  # type: ignore[no-untyped-def]
    return {"refund_id": refund["id"], "order_id": refund["order_id"], "amount": Decimal(str(refund["amount"])),
            "completed_at": "2026-01-09T08:00:00Z", **overrides}


async def processing(client, auth, amount="100.00"):  # type: ignore[no-untyped-def]
    order = await bought(client, auth)
    response = await send(client, "POST", REFUNDS, body(order, amount=Decimal(amount)), order["customer"])
    assert exact_json(response)["status"] == "PROCESSING", response.text
    return order, exact_json(response)


async def test_the_money_returned_completes_the_request_and_emits_processed(client, auth, engine):
    order, refund = await processing(client, auth)
    assert await statuses(client, auth, event("billing.refund.completed", completed(refund))) == ["PROCESSED"]
    got = exact_json(await client.get(f"{REFUNDS}/{refund['id']}", headers=order["customer"]))
    assert (got["status"], got["resolved_at"], got["sla_breached"]) == ("COMPLETED", "2026-01-09T08:00:00Z", False)
    assert got["timeline"][-1] == {"kind": "MONEY_RETURNED", "status": "COMPLETED", "at": "2026-01-09T08:00:00Z",
                                   "actor_id": None, "actor_role": "BILLING", "note": None,
                                   "data": {"amount": Decimal("100.00")}}
    [processed] = await events(engine, type="sales.refund.processed")
    assert processed.envelope["data"] == {"refund_id": refund["id"], "status": "COMPLETED",
                                          "amount": Decimal("100.00")}
    # both told at one frozen test-clock instant: which came first is not observable, that both did is
    assert sorted(n.template for n in await fetch(engine, notifications)) == ["refund_approved", "refund_completed"]
    placed = exact_json(await client.get(f"{API}/orders/{order['order_id']}", headers=auth.headers("SALES_ADMIN")))
    assert placed["refunded_amount"] == Decimal("100.00")
    # the same refund again: nothing more
    assert await statuses(client, auth, event("billing.refund.completed", completed(refund))) == ["PROCESSED"]
    assert len(await events(engine, type="sales.refund.processed")) == 1
    # the order is free again: a new request may be filed
    again = await send(client, "POST", REFUNDS, body(order, amount=Decimal("100.00")), order["customer"])
    assert again.status_code == 201, again.text


async def test_a_refund_billing_made_without_a_request_only_updates_the_order(client, auth, engine):
    order, _ = await processing(client, auth)
    other = {"refund_id": str(uuid.uuid4()), "order_id": order["order_id"], "amount": Decimal("50.00"),
             "completed_at": "2026-01-09T08:00:00Z"}
    assert await statuses(client, auth, event("billing.refund.completed", other)) == ["PROCESSED"]
    assert await events(engine, type="sales.refund.processed") == []
    assert [r.status for r in await fetch(engine, refunds)] == ["PROCESSING"]


async def test_a_completion_contradicting_the_request_is_parked(client, auth, engine):
    order, refund = await processing(client, auth)
    pending = await bought(client, auth)
    waiting = exact_json(await send(client, "POST", REFUNDS, body(pending), pending["customer"]))
    assert waiting["status"] == "PENDING_APPROVAL"
    never_sent = {"refund_id": waiting["id"], "order_id": pending["order_id"], "amount": Decimal("50.00"),
                  "completed_at": "2026-01-09T08:00:00Z"}
    wrong_order = completed(refund, order_id=pending["order_id"])
    outcomes = await deliver(client, auth, event("billing.refund.completed", never_sent),
                             event("billing.refund.completed", wrong_order))
    assert [o["status"] for o in outcomes] == ["PARKED", "PARKED"], outcomes
    assert {r.id: r.status for r in await fetch(engine, refunds)} == {
        uuid.UUID(refund["id"]): "PROCESSING", uuid.UUID(waiting["id"]): "PENDING_APPROVAL"}
    assert await events(engine, type="sales.refund.processed") == []
