"""GET /refunds/eligibility/{orderId} (issue 12; PRD §7.2 Refund APIs, §6.4 RFR-001..006): whether a refund is
possible now, how much and why, over the order, plan and usage read models."""
from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from tests.allocation_builders import advance, set_clock
from tests.builders import API
from tests.checks import assert_problem
from tests.commerce_builders import make_plan, send

ELIGIBILITY = f"{API}/refunds/eligibility"


async def world(client, auth, *, used=12, refunded=False):  # type: ignore[no-untyped-def]
    """A 45-day plan (25 owner contacts) bought for 1499.00 on 2026-01-05T10:00Z by a customer, with usage."""
    plan = await make_plan(client, auth.admin, duration_days=45, price=Decimal("1499.00"))
    user, order_id = str(uuid.uuid4()), str(uuid.uuid4())
    body = {"payment_id": str(uuid.uuid4()), "user_id": user, "user_type": "TENANT", "plan_id": plan["id"],
            "amount": Decimal("1499.00"), "currency": "INR", "paid_at": "2026-01-05T10:00:00Z"}
    response = await send(client, "PUT", f"{API}/orders/{order_id}", body, auth.headers("SERVICE"))
    assert response.status_code == 201, response.text
    usage = {"items": [{"plan_id": plan["id"], "order_id": order_id, "quota_name": "owner_contacts", "quota": 25,
                        "used": used, "at": "2026-01-06T10:00:00Z"}]}
    response = await send(client, "PUT", f"{API}/usage/{user}", usage, auth.headers("SERVICE"))
    assert response.status_code == 200, response.text
    return {"order_id": order_id, "customer": auth.headers("CUSTOMER", sub=uuid.UUID(user))}


async def test_the_customer_sees_amount_approval_and_each_rule_with_its_figures(client, auth):
    """RFR-001 within 7 days, RFR-002 48% used, RFR-006 1499.00 x 42 / 45 = 1399.07, RFR-004 SUPPORT_AGENT."""
    w = await world(client, auth)
    await set_clock(client, auth.admin, "2026-01-07T11:00:00Z")  # 42 days 23 h left: 42 whole unused days
    response = await client.get(f"{ELIGIBILITY}/{w['order_id']}", headers=w["customer"])
    assert response.status_code == 200, response.text
    assert '"refundable_amount":1399.07' in response.text
    got = response.json()
    assert {k: got[k] for k in ("order_id", "type", "eligible", "currency", "approval", "evaluated_at",
                                "expected_resolution_by")} == {
        "order_id": w["order_id"], "type": "REFUND", "eligible": True, "currency": "INR",
        "approval": "SUPPORT_AGENT", "evaluated_at": "2026-01-07T11:00:00Z",
        "expected_resolution_by": "2026-01-14T11:00:00Z"}
    assert [(r["id"], r["passed"]) for r in got["rules"]] == [
        ("RFR-001", True), ("RFR-002", True), ("RFR-006", True), ("RFR-005", True), ("RFR-004", True)]
    window, usage, money, _, _ = got["rules"]
    assert window["figures"] == {"paid_at": "2026-01-05T10:00:00Z", "requested_at": "2026-01-07T11:00:00Z",
                                 "deadline": "2026-01-12T10:00:00Z"}
    assert usage["figures"]["quotas"] == {"owner_contacts": {"used": 12, "quota": 25, "percent": 48.0}}
    assert (money["figures"]["unused_days"], money["figures"]["duration_days"], money["figures"]["refundable"]) \
        == (42, 45, 1399.07)
    staff = await client.get(f"{ELIGIBILITY}/{w['order_id']}", headers=auth.headers("SUPPORT_AGENT"))
    assert staff.status_code == 200 and staff.json() == got


async def test_rfr_001_day_7_inclusive_to_the_second(client, auth):
    w = await world(client, auth)
    await set_clock(client, auth.admin, "2026-01-12T10:00:00Z")  # exactly 7 x 24 h after paid_at
    got = (await client.get(f"{ELIGIBILITY}/{w['order_id']}", headers=w["customer"])).json()
    # 38 unused days: 1499.00 x 38 / 45 = 1265.8222.. -> 1265.82
    assert (got["eligible"], got["refundable_amount"], got["approval"]) == (True, 1265.82, "SUPPORT_AGENT")
    await advance(client, auth.admin, 1)
    got = (await client.get(f"{ELIGIBILITY}/{w['order_id']}", headers=w["customer"])).json()
    assert (got["eligible"], got["refundable_amount"], got["approval"]) == (False, 0.00, "MANAGER")
    assert [(r["id"], r["passed"]) for r in got["rules"]][0] == ("RFR-001", False)


@pytest.mark.parametrize(("used", "eligible"), [(12, True), (13, False)])
async def test_rfr_002_more_than_half_of_the_quota_used_is_not_eligible(client, auth, used, eligible):
    w = await world(client, auth, used=used)
    await set_clock(client, auth.admin, "2026-01-07T11:00:00Z")
    got = (await client.get(f"{ELIGIBILITY}/{w['order_id']}", headers=w["customer"])).json()
    assert (got["eligible"], got["rules"][1]["id"], got["rules"][1]["passed"]) == (eligible, "RFR-002", eligible)


async def test_scoping_auth_and_bad_input(client, auth):
    w = await world(client, auth)
    url = f"{ELIGIBILITY}/{w['order_id']}"
    assert_problem(await client.get(url), 401, "not_authenticated")
    for role in ("RM", "PRODUCT_MANAGER", "SERVICE"):
        assert_problem(await client.get(url, headers=auth.headers(role)), 403, "forbidden")
    assert_problem(await client.get(url, headers=auth.headers("CUSTOMER")), 404, "order_not_found")
    assert_problem(await client.get(f"{ELIGIBILITY}/{uuid.uuid4()}", headers=auth.headers("SUPPORT_AGENT")), 404,
                   "order_not_found")
    assert_problem(await client.get(f"{ELIGIBILITY}/not-a-uuid", headers=w["customer"]), 422, "validation_error",
                   loc=["path", "order_id"])
