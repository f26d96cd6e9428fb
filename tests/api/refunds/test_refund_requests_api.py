"""POST /refunds (issue 12; PRD §7.2 Refund APIs, §6.4 RFR-001..004, RFR-006): the rules decide at once;
REJECTED / PROCESSING (auto-approved, `sales.refund.requested`) / PENDING_APPROVAL / PENDING_MANAGER_APPROVAL."""
from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import pytest

from sales.refunds.models import refunds
from tests.allocation_builders import set_clock
from tests.builders import API
from tests.checks import assert_problem, audit_rows, count, events
from tests.commerce_builders import make_plan, send

REFUNDS = f"{API}/refunds"


async def bought(client, auth, *, price="1499.00", used=12, user=None,  # type: ignore[no-untyped-def]
                 paid_at="2026-01-05T10:00:00Z", now="2026-01-07T11:00:00Z"):
    """A 45-day plan bought on 2026-01-05T10:00Z; the clock at 2026-01-07T11:00Z (42 whole unused days)."""
    plan = await make_plan(client, auth.admin, duration_days=45, price=Decimal(price))
    user, order_id = user or str(uuid.uuid4()), str(uuid.uuid4())
    body = {"payment_id": str(uuid.uuid4()), "user_id": user, "user_type": "TENANT", "plan_id": plan["id"],
            "amount": Decimal(price), "currency": "INR", "paid_at": paid_at}
    assert (await send(client, "PUT", f"{API}/orders/{order_id}", body, auth.headers("SERVICE"))).status_code == 201
    usage = {"items": [{"plan_id": plan["id"], "order_id": order_id, "quota_name": "owner_contacts", "quota": 25,
                        "used": used, "at": "2026-01-06T10:00:00Z"}]}
    assert (await send(client, "PUT", f"{API}/usage/{user}", usage, auth.headers("SERVICE"))).status_code == 200
    await set_clock(client, auth.admin, now)
    return {"order_id": order_id, "user_id": user, "customer": auth.headers("CUSTOMER", sub=uuid.UUID(user))}


def body(order, **overrides):  # type: ignore[no-untyped-def]
    return {"order_id": order["order_id"], "type": "REFUND", "reason": "Owners did not respond", **overrides}


async def test_rfr_003_under_rs_500_is_approved_automatically_and_sent_to_billing(client, auth, engine):
    order = await bought(client, auth)
    response = await send(client, "POST", REFUNDS, body(order, amount=Decimal("499.99")), order["customer"])
    assert response.status_code == 201, response.text
    assert '"amount":499.99' in response.text and '"refundable_amount":1399.07' in response.text
    got = response.json()
    assert (got["status"], got["approval"], got["requested_amount"], got["decided_at"], got["decision_reason"],
            got["user_id"], got["requested_by"], got["expected_resolution_by"]) == (
        "PROCESSING", "AUTO", 499.99, "2026-01-07T11:00:00Z", "RFR-003: approved automatically", order["user_id"],
        order["user_id"], "2026-01-14T11:00:00Z")
    assert [(r["id"], r["passed"]) for r in got["rules"]] == [
        ("RFR-001", True), ("RFR-002", True), ("RFR-006", True), ("RFR-005", True), ("RFR-003", True)]
    [event] = await events(engine, type="sales.refund.requested")
    assert event.envelope["data"] == {"refund_id": got["id"], "order_id": order["order_id"],
                                      "amount": Decimal("499.99")}
    assert [a.action for a in await audit_rows(engine, entity_type="refund")] == ["refund.requested"]


@pytest.mark.parametrize(("price", "amount", "status", "approval"), [
    ("1499.00", None, "PENDING_APPROVAL", "SUPPORT_AGENT"),          # 1399.07 refundable
    ("1499.00", "500.00", "PENDING_APPROVAL", "SUPPORT_AGENT"),
    ("9999.00", "5000.00", "PENDING_APPROVAL", "SUPPORT_AGENT"),
    ("9999.00", "5000.01", "PENDING_MANAGER_APPROVAL", "MANAGER"),   # RFR-004
    ("9999.00", None, "PENDING_MANAGER_APPROVAL", "MANAGER"),        # 9999.00 x 42 / 45 = 9332.40
])
async def test_rfr_004_routing_at_rs_500_and_rs_5000(client, auth, engine, price, amount, status, approval):
    order = await bought(client, auth, price=price)
    extra = {} if amount is None else {"amount": Decimal(amount)}
    response = await send(client, "POST", REFUNDS, body(order, **extra), order["customer"])
    assert response.status_code == 201, response.text
    got = response.json()
    expected = Decimal(amount) if amount else {"1499.00": Decimal("1399.07"), "9999.00": Decimal("9332.40")}[price]
    assert (got["status"], got["approval"], Decimal(str(got["requested_amount"])), got["amount"],
            got["decided_at"]) == (status, approval, expected, None, None)
    assert await events(engine, type="sales.refund.requested") == []


async def test_an_ineligible_request_is_recorded_rejected_with_the_rule_outcomes(client, auth, engine):
    """RFR-002: 13 of 25 owner contacts (52%) used."""
    order = await bought(client, auth, used=13)
    response = await send(client, "POST", REFUNDS, body(order), order["customer"])
    assert response.status_code == 201, response.text
    got = response.json()
    assert (got["status"], got["amount"], got["refundable_amount"], got["decision_reason"], got["approval"]) == (
        "REJECTED", None, 0.00, "not eligible: RFR-002", "MANAGER")
    assert [(r["id"], r["passed"]) for r in got["rules"]] == [("RFR-001", True), ("RFR-002", False),
                                                             ("RFR-006", True), ("RFR-005", True)]
    assert await events(engine, type="sales.refund.requested") == []
    # a rejected request does not hold the order: another may be filed
    again = await send(client, "POST", REFUNDS, body(order), order["customer"])
    assert again.status_code == 201 and again.json()["status"] == "REJECTED"


async def test_rfr_005_a_3rd_refund_in_90_days_goes_to_a_manager_flagged_the_91st_day_does_not(client, auth):
    first = await bought(client, auth)
    user = first["user_id"]
    second = await bought(client, auth, user=user)
    for order in (first, second):
        response = await send(client, "POST", REFUNDS, body(order, amount=Decimal("100.00")), order["customer"])
        assert (response.status_code, response.json()["status"], response.json()["flagged"]) == (
            201, "PROCESSING", False)
    # exactly 90 days after the earlier requests: still inside the window
    third = await bought(client, auth, user=user, paid_at="2026-04-07T10:00:00Z", now="2026-04-07T11:00:00Z")
    response = await send(client, "POST", REFUNDS, body(third, amount=Decimal("100.00")), third["customer"])
    got = response.json()
    assert (response.status_code, got["status"], got["flagged"], got["approval"], got["amount"]) == (
        201, "PENDING_MANAGER_APPROVAL", True, "MANAGER", None)
    fraud = next(r for r in got["rules"] if r["id"] == "RFR-005")
    assert (fraud["passed"], len(fraud["figures"]["earlier_refunds"])) == (False, 2)
    # one second later the earlier refunds are 90 days and a second old: outside
    fourth = await bought(client, auth, user=user, paid_at="2026-04-07T10:00:00Z", now="2026-04-07T11:00:01Z")
    response = await send(client, "POST", REFUNDS, body(fourth, amount=Decimal("100.00")), fourth["customer"])
    # the third (open) request is within the window, the first two are not: one earlier refund
    assert (response.json()["status"], response.json()["flagged"]) == ("PROCESSING", False)


async def test_a_second_open_request_on_the_order_is_409(client, auth, engine):
    order = await bought(client, auth)
    first = await send(client, "POST", REFUNDS, body(order, amount=Decimal("100.00")), order["customer"])
    assert first.status_code == 201, first.text
    assert_problem(await send(client, "POST", REFUNDS, body(order), auth.headers("SUPPORT_AGENT")), 409,
                   "refund_already_open")
    assert await count(engine, refunds) == 1


async def test_a_support_agent_requests_on_the_customers_behalf(client, auth):
    order = await bought(client, auth)
    agent = uuid.uuid4()
    response = await send(client, "POST", REFUNDS, body(order), auth.headers("SUPPORT_AGENT", sub=agent))
    assert response.status_code == 201, response.text
    assert (response.json()["user_id"], response.json()["requested_by"]) == (order["user_id"], str(agent))


async def test_idempotency_key_gives_the_first_answer_and_writes_once(client, auth, engine):
    order = await bought(client, auth)
    headers = {**order["customer"], "Idempotency-Key": "refund-1"}
    first = await send(client, "POST", REFUNDS, body(order, amount=Decimal("200.00")), headers)
    second = await send(client, "POST", REFUNDS, body(order, amount=Decimal("200.00")), headers)
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json() == first.json()
    assert await count(engine, refunds) == 1
    assert len(await events(engine, type="sales.refund.requested")) == 1


async def test_auth_scoping_and_bad_input(client, auth, engine):
    order = await bought(client, auth)
    assert_problem(await send(client, "POST", REFUNDS, body(order), {}), 401, "not_authenticated")
    for role in ("SALES_ADMIN", "SUPERVISOR", "RM", "FINANCE_ADMIN", "PRODUCT_MANAGER", "SERVICE"):
        assert_problem(await send(client, "POST", REFUNDS, body(order), auth.headers(role)), 403, "forbidden")
    # another customer's order and an unknown one look the same
    assert_problem(await send(client, "POST", REFUNDS, body(order), auth.headers("CUSTOMER")), 404,
                   "order_not_found")
    assert_problem(await send(client, "POST", REFUNDS, body(order, order_id=str(uuid.uuid4())),
                              order["customer"]), 404, "order_not_found")
    for bad, loc in [({"amount": Decimal("1399.08")}, ["body", "amount"]),  # above the refundable 1399.07
                     ({"amount": Decimal("0.00")}, ["body", "amount"]),
                     ({"amount": "12.345"}, ["body", "amount"]),
                     ({"type": "CLAIM"}, ["body", "type"]),
                     ({"reason": ""}, ["body", "reason"]),
                     ({"reason": "x" * 1001}, ["body", "reason"]),
                     ({"reason": "bad\x00"}, ["body", "reason"]),
                     ({"order_id": "nope"}, ["body", "order_id"])]:
        assert_problem(await send(client, "POST", REFUNDS, body(order, **bad), order["customer"]), 422,
                       "validation_error", loc=loc)
    assert await count(engine, refunds) == 0


async def test_parallel_requests_on_one_order_leave_one_open_and_one_event(client, auth, engine):
    """Issue 12 Safety: concurrent requests (real parallel connections on PostgreSQL) never promise more than
    was paid: exactly one open request per order, the rest 409."""
    order = await bought(client, auth)
    responses = await asyncio.gather(*(send(client, "POST", REFUNDS, body(order, amount=Decimal("400.00")),
                                            order["customer"]) for _ in range(8)))
    assert sorted(r.status_code for r in responses) == [201] + [409] * 7, [r.text for r in responses]
    assert await count(engine, refunds) == 1
    assert len(await events(engine, type="sales.refund.requested")) == 1
