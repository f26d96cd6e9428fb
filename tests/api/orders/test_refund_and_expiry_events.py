"""billing.refund.completed and entitlements.plan.expired on orders (issue 10 §2 Orders): first delivery,
duplicates, out of order, bad payloads; a refund total above the order amount is parked, nothing applied."""
from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from sales.orders.models import order_refunds
from tests.allocation_builders import advance, run_job, set_clock
from tests.builders import API
from tests.checks import audit_rows, count
from tests.commerce_builders import deliver, event, make_plan, payment, refund, statuses

ORDERS = f"{API}/orders"


async def _order(client, auth, *, amount: str = "2999.00", **overrides):  # type: ignore[no-untyped-def]
    plan = await make_plan(client, auth.admin, price=Decimal(amount))
    data = payment(plan, amount=Decimal(amount), **overrides)
    assert await statuses(client, auth, event("billing.payment.completed", data)) == ["PROCESSED"]
    return data


async def _get(client, auth, order_id):  # type: ignore[no-untyped-def]
    response = await client.get(f"{ORDERS}/{order_id}", headers=auth.admin)
    assert response.status_code == 200, response.text
    return response


def _expired(data, **overrides):  # type: ignore[no-untyped-def]
    return {"user_id": data["user_id"], "plan_id": data["plan_id"], "order_id": data["order_id"],
            "expired_at": "2026-02-24T09:30:00+05:30", **overrides}


# --- refunds -------------------------------------------------------------------------------------

async def test_refunds_add_up_exactly_then_the_order_is_refunded(client, auth, engine):
    data = await _order(client, auth)
    first = refund(data["order_id"], "999.99", completed_at="2026-01-12T10:00:00+05:30")
    assert await statuses(client, auth, event("billing.refund.completed", first)) == ["PROCESSED"]
    got = await _get(client, auth, data["order_id"])
    assert '"refunded_amount":999.99' in got.text and got.json()["status"] == "PARTIALLY_REFUNDED"
    assert got.json()["refunds"] == [{"refund_id": first["refund_id"], "order_id": data["order_id"],
                                      "amount": 999.99, "completed_at": "2026-01-12T04:30:00Z"}]
    rest = refund(data["order_id"], "1999.01")
    assert await statuses(client, auth, event("billing.refund.completed", rest)) == ["PROCESSED"]
    got = await _get(client, auth, data["order_id"])
    assert '"refunded_amount":2999.00' in got.text and got.json()["status"] == "REFUNDED"
    assert [r["amount"] for r in got.json()["refunds"]] == [999.99, 1999.01]
    assert [e.action for e in await audit_rows(engine, entity_type="order")] == [
        "order.recorded", "order.refunded", "order.refunded"]


async def test_the_same_refund_twice_counts_once(client, auth, engine):
    data = await _order(client, auth)
    body = refund(data["order_id"], "500.00")
    once = event("billing.refund.completed", body)
    assert await statuses(client, auth, once, once) == ["PROCESSED", "DUPLICATE"]
    # Billing re-publishing the same refund under another event id
    assert await statuses(client, auth, event("billing.refund.completed", body)) == ["PROCESSED"]
    got = await _get(client, auth, data["order_id"])
    assert '"refunded_amount":500.00' in got.text and got.json()["status"] == "PARTIALLY_REFUNDED"
    assert await count(engine, order_refunds) == 1


async def test_a_refund_above_the_order_amount_is_parked_with_nothing_applied(client, auth, engine):
    data = await _order(client, auth)
    assert await statuses(client, auth, event("billing.refund.completed", refund(data["order_id"], "2000.00"))) \
        == ["PROCESSED"]
    before = (await _get(client, auth, data["order_id"])).json()
    audits = len(await audit_rows(engine))
    [outcome] = await deliver(client, auth, event("billing.refund.completed", refund(data["order_id"], "999.01")))
    assert (outcome["status"], outcome["attempts"]) == ("PARKED", 1)
    assert "2999.01, above the order amount 2999.00" in outcome["error"]
    assert (await _get(client, auth, data["order_id"])).json() == before
    assert await count(engine, order_refunds) == 1 and len(await audit_rows(engine)) == audits


async def test_a_refund_id_seen_with_other_facts_is_parked(client, auth):
    data = await _order(client, auth)
    body = refund(data["order_id"], "100.00")
    assert await statuses(client, auth, event("billing.refund.completed", body)) == ["PROCESSED"]
    [outcome] = await deliver(client, auth, event("billing.refund.completed", {**body, "amount": Decimal("200.00")}))
    assert outcome["status"] == "PARKED" and "was recorded for order" in outcome["error"]
    assert '"refunded_amount":100.00' in (await _get(client, auth, data["order_id"])).text


async def test_a_refund_before_its_payment_retries_and_applies_when_the_order_arrives(client, auth, engine):
    """Out of order: the refund event overtakes the payment event."""
    await set_clock(client, auth.admin, "2026-01-10T10:00:00Z")
    plan = await make_plan(client, auth.admin, price=Decimal("1499.00"))
    data = payment(plan)
    [outcome] = await deliver(client, auth, event("billing.refund.completed", refund(data["order_id"], "1499.00")))
    assert outcome["status"] == "FAILED" and "unknown order" in outcome["error"]
    assert await count(engine, order_refunds) == 0
    assert await statuses(client, auth, event("billing.payment.completed", data)) == ["PROCESSED"]
    await advance(client, auth.admin, 3600)
    assert (await run_job(client, auth.admin, "inbox-retry"))["processed"] == 1
    got = (await _get(client, auth, data["order_id"])).json()
    assert (got["status"], got["refunded_amount"]) == ("REFUNDED", 1499.0)


@pytest.mark.parametrize(("overrides", "problem"), [
    ({"amount": Decimal("0.00")}, "amount"),
    ({"amount": Decimal("-5.00")}, "amount"),
    ({"amount": Decimal("1.005")}, "amount"),
    ({"completed_at": None}, "completed_at"),
    ({"completed_at": "2026-01-12 10:00"}, "completed_at"),
    ({"refund_id": "r-1"}, "refund_id"),
    ({"order_id": None}, "order_id"),
])
async def test_a_bad_refund_is_parked_at_once(client, auth, engine, overrides, problem):
    data = await _order(client, auth)
    body = {k: v for k, v in {**refund(data["order_id"], "10.00"), **overrides}.items() if v is not None}
    [outcome] = await deliver(client, auth, event("billing.refund.completed", body, valid=False))
    assert (outcome["status"], outcome["attempts"]) == ("PARKED", 1) and problem in outcome["error"]
    assert await count(engine, order_refunds) == 0


# --- expiry --------------------------------------------------------------------------------------

async def test_plan_expired_expires_the_order_once(client, auth, engine):
    data = await _order(client, auth)
    expired = event("entitlements.plan.expired", _expired(data), source="/mysqrft/entitlements")
    assert await statuses(client, auth, expired, expired) == ["PROCESSED", "DUPLICATE"]
    assert await statuses(client, auth, event("entitlements.plan.expired", _expired(data))) == ["PROCESSED"]
    got = (await _get(client, auth, data["order_id"])).json()
    assert (got["status"], got["expired_at"]) == ("EXPIRED", "2026-02-24T04:00:00Z")
    assert [e.action for e in await audit_rows(engine, entity_type="order")] == ["order.recorded", "order.expired"]


async def test_expiry_never_resurrects_a_refunded_order(client, auth):
    data = await _order(client, auth)
    await deliver(client, auth, event("billing.refund.completed", refund(data["order_id"], "2999.00")))
    assert await statuses(client, auth, event("entitlements.plan.expired", _expired(data))) == ["PROCESSED"]
    got = (await _get(client, auth, data["order_id"])).json()
    assert (got["status"], got["expired_at"]) == ("REFUNDED", None)


async def test_a_partial_refund_after_expiry_keeps_the_order_expired(client, auth):
    """Out of order between Entitlements and Billing: the refund lands after the expiry."""
    data = await _order(client, auth)
    assert await statuses(client, auth, event("entitlements.plan.expired", _expired(data)),
                          event("billing.refund.completed", refund(data["order_id"], "1000.00"))) \
        == ["PROCESSED", "PROCESSED"]
    got = await _get(client, auth, data["order_id"])
    assert got.json()["status"] == "EXPIRED" and '"refunded_amount":1000.00' in got.text
    # a payment redelivered afterwards does not bring it back
    assert await statuses(client, auth, event("billing.payment.completed", data)) == ["PROCESSED"]
    assert (await _get(client, auth, data["order_id"])).json()["status"] == "EXPIRED"


async def test_an_expiry_before_its_order_retries_then_applies(client, auth):
    await set_clock(client, auth.admin, "2026-01-10T10:00:00Z")
    plan = await make_plan(client, auth.admin)
    data = payment(plan)
    [outcome] = await deliver(client, auth, event("entitlements.plan.expired", _expired(data)))
    assert outcome["status"] == "FAILED" and "unknown order" in outcome["error"]
    assert await statuses(client, auth, event("billing.payment.completed", data)) == ["PROCESSED"]
    await advance(client, auth.admin, 3600)
    assert (await run_job(client, auth.admin, "inbox-retry"))["processed"] == 1
    assert (await _get(client, auth, data["order_id"])).json()["status"] == "EXPIRED"


@pytest.mark.parametrize(("overrides", "problem"), [
    ({"expired_at": "2026-02-24T09:30:00"}, "expired_at"),
    ({"order_id": None}, "order_id"),
    ({"user_id": "u"}, "user_id"),
    ({"user_id": str(uuid.UUID(int=7))}, "belongs to user"),
    ({"plan_id": str(uuid.UUID(int=8))}, "belongs to user"),
])
async def test_a_bad_expiry_is_parked_at_once(client, auth, engine, overrides, problem):
    data = await _order(client, auth)
    body = {k: v for k, v in _expired(data, **overrides).items() if v is not None}
    [outcome] = await deliver(client, auth, event("entitlements.plan.expired", body, valid=False))
    assert (outcome["status"], outcome["attempts"]) == ("PARKED", 1) and problem in outcome["error"]
    assert (await _get(client, auth, data["order_id"])).json()["status"] == "ACTIVE"
