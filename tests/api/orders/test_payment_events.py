"""billing.payment.completed opens the order (issue 10 §2 Orders): first delivery, duplicates, out of order,
bad payloads; PRD §3.2.5 transaction types; money exact."""
from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from sales.core.tables import audit_log
from sales.orders.models import orders
from tests.allocation_builders import advance, run_job, set_clock
from tests.builders import API
from tests.checks import audit_rows, count
from tests.commerce_builders import deliver, event, make_plan, payment, statuses

ORDERS = f"{API}/orders"
CONSUMER = "00000000-0000-4000-8000-0000000e7e00"


async def test_first_delivery_records_the_order_exactly(client, auth, engine):
    await set_clock(client, auth.admin, "2026-01-10T10:00:00Z")
    plan = await make_plan(client, auth.admin, price=Decimal("2999.00"), duration_days=90)
    rm_id, pipeline_id, upsell_id = (str(uuid.uuid4()) for _ in range(3))
    data = payment(plan, amount=Decimal("2999.00"), rm_id=rm_id, pipeline_id=pipeline_id, upsell_id=upsell_id)
    [outcome] = await deliver(client, auth, event("billing.payment.completed", data))
    assert (outcome["status"], outcome["attempts"], outcome["error"]) == ("PROCESSED", 1, None)

    response = await client.get(f"{ORDERS}/{data['order_id']}", headers=auth.admin)
    assert response.status_code == 200, response.text
    assert '"amount":2999.00' in response.text and '"refunded_amount":0.00' in response.text
    assert response.json() == {
        "order_id": data["order_id"], "payment_id": data["payment_id"], "user_id": data["user_id"],
        "user_type": "TENANT", "plan_id": plan["id"], "amount": 2999.0, "currency": "INR",
        "paid_at": "2026-01-10T04:00:00Z", "starts_at": "2026-01-10T04:00:00Z", "ends_at": "2026-04-10T04:00:00Z",
        "status": "ACTIVE", "refunded_amount": 0.0, "transaction_type": "SUBSCRIPTION_NEW", "rm_id": rm_id,
        "pipeline_id": pipeline_id, "upsell_id": upsell_id, "expired_at": None,
        "created_at": "2026-01-10T10:00:00Z", "updated_at": "2026-01-10T10:00:00Z", "refunds": []}
    [entry] = await audit_rows(engine, entity_type="order")
    assert (entry.action, entry.entity_id, str(entry.actor_id)) == ("order.recorded", data["order_id"], CONSUMER)
    assert entry.after["amount"] == Decimal("2999.00")


async def test_large_amounts_stay_exact(client, auth):
    plan = await make_plan(client, auth.admin)
    data = payment(plan, amount=Decimal("123456789012.34"))
    assert await statuses(client, auth, event("billing.payment.completed", data)) == ["PROCESSED"]
    response = await client.get(f"{ORDERS}/{data['order_id']}", headers=auth.admin)
    assert '"amount":123456789012.34' in response.text


async def test_a_duplicate_delivery_changes_nothing(client, auth, engine):
    plan = await make_plan(client, auth.admin)
    data = payment(plan)
    paid = event("billing.payment.completed", data)
    assert await statuses(client, auth, paid) == ["PROCESSED"]
    before = (await client.get(f"{ORDERS}/{data['order_id']}", headers=auth.admin)).json()
    await advance(client, auth.admin, 60)
    assert await statuses(client, auth, paid) == ["DUPLICATE"]
    # Billing publishing the same payment again under a new event id: the order is already there.
    assert await statuses(client, auth, event("billing.payment.completed", data)) == ["PROCESSED"]
    assert (await client.get(f"{ORDERS}/{data['order_id']}", headers=auth.admin)).json() == before
    assert await count(engine, orders) == 1
    assert len(await audit_rows(engine, entity_type="order")) == 1


async def test_a_payment_for_a_plan_not_known_yet_retries_then_succeeds(client, auth, engine):
    """Out of order: the plan is backfilled after its first payment arrived."""
    await set_clock(client, auth.admin, "2026-01-10T10:00:00Z")
    plan_id = str(uuid.uuid4())
    data = payment({"id": plan_id, "user_type": "TENANT", "price": "1499.00"})
    [outcome] = await deliver(client, auth, event("billing.payment.completed", data))
    assert outcome["status"] == "FAILED" and "unknown plan" in outcome["error"]
    assert await count(engine, orders) == 0
    await make_plan(client, auth.admin, id=plan_id)
    await advance(client, auth.admin, 3600)
    assert (await run_job(client, auth.admin, "inbox-retry"))["processed"] == 1
    got = await client.get(f"{ORDERS}/{data['order_id']}", headers=auth.admin)
    assert got.status_code == 200 and got.json()["status"] == "ACTIVE"


async def test_a_plan_that_never_appears_parks_the_payment_after_retries(client, auth, engine):
    await set_clock(client, auth.admin, "2026-01-10T10:00:00Z")
    paid = event("billing.payment.completed", payment({"id": str(uuid.uuid4()), "user_type": "OWNER",
                                                        "price": "1999.00"}))
    for _ in range(4):
        assert (await deliver(client, auth, paid))[0]["status"] == "FAILED"
        await advance(client, auth.admin, 3600)
    [outcome] = await deliver(client, auth, paid)
    assert (outcome["status"], outcome["attempts"]) == ("PARKED", 5)
    assert await count(engine, orders) == 0


@pytest.mark.parametrize(("overrides", "problem"), [
    ({"amount": None}, "amount"),
    ({"amount": Decimal("-1.00")}, "amount"),
    ({"amount": Decimal("2999.001")}, "amount"),
    ({"amount": "NaN"}, "amount"),
    ({"paid_at": "2026-01-10T09:30:00"}, "paid_at"),
    ({"paid_at": "0001-01-01T00:00:00+14:00"}, "paid_at"),
    ({"user_id": "someone"}, "user_id"),
    ({"plan_id": None}, "plan_id"),
    ({"currency": "rupees"}, "currency"),
    ({"user_type": "AGENT"}, "user_type"),
    ({"transaction_type": "GIFT"}, "transaction_type"),
    ({"payment_id": None}, "payment_id"),
])
async def test_a_bad_payment_is_parked_at_once_with_nothing_applied(client, auth, engine, overrides, problem):
    plan = await make_plan(client, auth.admin)
    data = {k: v for k, v in {**payment(plan), **overrides}.items() if v is not None}
    [outcome] = await deliver(client, auth, event("billing.payment.completed", data, valid=False))
    assert (outcome["status"], outcome["attempts"]) == ("PARKED", 1)
    assert problem in outcome["error"]
    assert await count(engine, orders) == 0 and await count(engine, audit_log) == 1  # the plan's


async def test_data_that_is_not_an_object_is_parked(client, auth):
    [outcome] = await deliver(client, auth, event("billing.payment.completed", ["x"], valid=False))
    assert outcome["status"] == "PARKED"


async def test_a_payment_whose_user_type_contradicts_the_plan_is_parked(client, auth, engine):
    plan = await make_plan(client, auth.admin, user_type="TENANT")
    [outcome] = await deliver(client, auth, event("billing.payment.completed", payment(plan, user_type="OWNER")))
    assert outcome["status"] == "PARKED" and "user_type" in outcome["error"]
    assert await count(engine, orders) == 0


async def test_unknown_fields_are_ignored(client, auth):
    plan = await make_plan(client, auth.admin)
    data = {**payment(plan), "gateway": "razorpay", "method": {"upi": "x@okbank"}}
    assert await statuses(client, auth, event("billing.payment.completed", data)) == ["PROCESSED"]


async def _type_of(client, auth, data):  # type: ignore[no-untyped-def]
    assert await statuses(client, auth, event("billing.payment.completed", data)) == ["PROCESSED"]
    return (await client.get(f"{ORDERS}/{data['order_id']}", headers=auth.admin)).json()["transaction_type"]


async def test_transaction_types_follow_the_users_orders_prd_3_2_5(client, auth):
    premium = await make_plan(client, auth.admin, code="TENANT_PREMIUM", tier=1, duration_days=45)
    prime = await make_plan(client, auth.admin, code="TENANT_PRIME", tier=2, price=Decimal("2999.00"))
    owner = await make_plan(client, auth.admin, code="OWNER_BOOST", user_type="OWNER", tier=1)
    user = str(uuid.uuid4())
    assert await _type_of(client, auth, payment(premium, user_id=user, paid_at="2026-01-01T10:00:00Z")) \
        == "SUBSCRIPTION_NEW"
    assert await _type_of(client, auth, payment(prime, user_id=user, paid_at="2026-01-20T10:00:00Z")) \
        == "SUBSCRIPTION_UPGRADE"
    assert await _type_of(client, auth, payment(premium, user_id=user, paid_at="2026-02-10T10:00:00Z")) \
        == "SUBSCRIPTION_RENEWAL"
    assert await _type_of(client, auth, payment(owner, user_id=user, user_type="OWNER",
                                                paid_at="2026-02-10T11:00:00Z")) == "SUBSCRIPTION_NEW"
    assert await _type_of(client, auth, payment(prime, user_id=str(uuid.uuid4()), transaction_type="SERVICE_BOOKING")) \
        == "SERVICE_BOOKING"
