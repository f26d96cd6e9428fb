"""GET /customers/{user_id}: the customer context for people (issue 10 §3; ARCHITECTURE §2.2 scoping and PII;
PRD §5.1 customer context, §8.4 PII masking). Every role's view, exact amounts, usage in %, 7/30-day activity
windows on the test clock, a fixed number of statements."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event as sa_event

from tests.builders import API, freeze_clock, make_lead, make_pipeline, make_rm, make_team, move
from tests.checks import assert_problem
from tests.commerce_builders import event, make_plan, payment, refund, statuses

CUSTOMERS = f"{API}/customers"
NOW = "2026-01-17T10:30:00Z"


@dataclass
class World:
    customer: str
    team_a: dict[str, Any]
    team_b: dict[str, Any]
    rm_a: dict[str, Any]          # open pipeline with the customer (team A)
    rm_a_closed: dict[str, Any]   # only a closed pipeline with the customer (team A)
    rm_b: dict[str, Any]          # open pipeline with the customer (team B)
    stranger: dict[str, Any]      # an RM of team A without any pipeline with the customer
    team_c: dict[str, Any]        # a team without pipelines with the customer
    pipeline_a: dict[str, Any]
    pipeline_b: dict[str, Any]
    premium: dict[str, Any]
    basic: dict[str, Any]
    order_id: str
    expired_order_id: str
    extra: dict[str, Any] = field(default_factory=dict)


def ctx_url(user_id: Any) -> str:
    return f"{CUSTOMERS}/{user_id}"


async def build_world(client, auth, engine) -> World:  # type: ignore[no-untyped-def]
    await freeze_clock(client, auth.admin, at=NOW)
    admin = auth.admin
    team_a = await make_team(client, admin, name="Koramangala")
    team_b = await make_team(client, admin, name="Indiranagar")
    team_c = await make_team(client, admin, name="Whitefield")
    rm_a = await make_rm(client, admin, team_id=team_a["id"], name="Priya Patel")
    rm_a_closed = await make_rm(client, admin, team_id=team_a["id"], name="Vikram Rao")
    rm_b = await make_rm(client, admin, team_id=team_b["id"], name="Rohan Iyer")
    stranger = await make_rm(client, admin, team_id=team_a["id"], name="Kavya Menon")
    customer = str(uuid.uuid4())
    leads = []
    for _ in range(3):
        lead = await make_lead(engine, customer_id=uuid.UUID(customer))
        leads.append(str(lead["id"]))
    pipeline_a = await make_pipeline(client, admin, rm_id=rm_a["id"], lead_id=leads[0], deal_value="25000.00",
                                     probability=40, source="REFERRAL")
    pipeline_b = await make_pipeline(client, admin, rm_id=rm_b["id"], lead_id=leads[1])
    closed = await make_pipeline(client, admin, rm_id=rm_a_closed["id"], lead_id=leads[2])
    assert (await move(client, admin, closed["id"], "CLOSED_LOST", loss_reason="Bought elsewhere")).status_code == 200
    # Someone else's pipeline (not this customer's): never part of the context.
    await make_pipeline(client, admin, rm_id=stranger["id"])

    premium = await make_plan(client, admin, code="TENANT_PREMIUM_CTX", name="Tenant Premium", tier=1,
                              price=Decimal("1499.00"), duration_days=45, features={"owner_contacts": 25})
    basic = await make_plan(client, admin, code="TENANT_BASIC_CTX", name="Tenant Basic", tier=0,
                            price=Decimal("0.00"), duration_days=365, features={"owner_contacts": 5})
    boost = await make_plan(client, admin, code="OWNER_BOOST_CTX", name="Owner Listing Boost", user_type="OWNER",
                            tier=1, price=Decimal("1999.00"), duration_days=30, features={"tenant_contacts": 50})
    paid = payment(premium, user_id=customer, paid_at="2026-01-10T09:30:00+05:30", rm_id=rm_a["id"],
                   pipeline_id=pipeline_a["id"])
    old = payment(boost, user_id=customer, paid_at="2025-10-01T10:00:00Z")
    assert await statuses(client, auth, event("billing.payment.completed", paid),
                          event("billing.payment.completed", old)) == ["PROCESSED", "PROCESSED"]
    expired = {"user_id": customer, "plan_id": boost["id"], "order_id": old["order_id"],
               "expired_at": "2025-10-31T10:00:00Z"}
    usage = [
        {"user_id": customer, "order_id": paid["order_id"], "plan_id": premium["id"], "quota_name": "owner_contacts",
         "quota": 25, "used": 21, "at": "2026-01-17T09:00:00Z"},
        {"user_id": customer, "plan_id": premium["id"], "quota_name": "site_visits", "quota": None, "used": 2,
         "at": "2026-01-16T09:00:00Z"},
        # The free plan's counter is superseded by the live Premium order of the same user type.
        {"user_id": customer, "plan_id": basic["id"], "quota_name": "owner_contacts", "quota": 5, "used": 4,
         "at": "2025-12-01T09:00:00Z"},
        # Usage of the expired OWNER order: stale, not a held plan.
        {"user_id": customer, "order_id": old["order_id"], "plan_id": boost["id"], "quota_name": "tenant_contacts",
         "quota": 50, "used": 50, "at": "2025-10-30T09:00:00Z"},
    ]
    assert await statuses(client, auth, event("billing.refund.completed", refund(paid["order_id"], "499.50")),
                          event("entitlements.plan.expired", expired, source="/mysqrft/entitlements"),
                          *(event("entitlements.usage.updated", u, source="/mysqrft/entitlements") for u in usage)
                          ) == ["PROCESSED"] * 6
    service = auth.headers("SERVICE")
    prefs = await client.put(f"{ctx_url(customer)}/preferences", headers=service, json={
        "marketing_opt_out": False, "channels_opted_out": ["SMS"], "preferred_channel": "WHATSAPP",
        "language": "hi-IN", "updated_at": "2026-01-01T00:00:00Z"})
    assert prefs.status_code == 201, prefs.text
    # now = 2026-01-17T10:30Z. The 7-day window is (01-10T10:30, now], the 30-day one (2025-12-18T10:30, now].
    for viewed_at, contacted in [("2026-01-17T10:30:00Z", True),    # exactly now: counted
                                 ("2026-01-16T08:00:00Z", False),
                                 ("2026-01-10T10:30:01Z", True),    # 7 days minus a second: in both
                                 ("2026-01-10T10:30:00Z", False),   # exactly 7 days ago: 30-day window only
                                 ("2026-01-02T10:00:00Z", True),
                                 ("2025-12-18T10:30:00Z", False),   # exactly 30 days ago: in neither
                                 ("2025-12-01T10:00:00Z", True),
                                 ("2026-01-17T10:30:01Z", False)]:  # after now (a late clock): in neither
        r = await client.post(f"{ctx_url(customer)}/activity", headers=service, json={
            "property_id": str(uuid.uuid4()), "viewed_at": viewed_at, "contacted": contacted})
        assert r.status_code == 201, r.text
    return World(customer=customer, team_a=team_a, team_b=team_b, team_c=team_c, rm_a=rm_a, rm_a_closed=rm_a_closed,
                 rm_b=rm_b, stranger=stranger, pipeline_a=pipeline_a, pipeline_b=pipeline_b, premium=premium,
                 basic=basic, order_id=paid["order_id"], expired_order_id=old["order_id"])


async def get(client, headers, user_id):  # type: ignore[no-untyped-def]
    return await client.get(ctx_url(user_id), headers=headers)


# --- what the context holds ------------------------------------------------------------------------

async def test_rm_of_an_open_pipeline_sees_the_whole_context_with_exact_amounts(client, auth, engine):
    w = await build_world(client, auth, engine)
    response = await get(client, auth.rm(uuid.UUID(w.rm_a["id"])), w.customer)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["user_id"], body["as_of"], body["audience"]) == (w.customer, NOW, "STAFF")
    assert body["contact"] == {"name": "Rahul Sharma", "phone": "+91-9876543210", "email": "rahul@example.com",
                               "masked": False}
    # Active plans: the live Premium order with its quotas; the expired OWNER order and the superseded free plan
    # are not held.
    assert body["active_plans"] == [{
        "order_id": w.order_id, "plan_id": w.premium["id"], "code": "TENANT_PREMIUM_CTX", "name": "Tenant Premium",
        "tier": 1, "user_type": "TENANT", "starts_at": "2026-01-10T04:00:00Z", "ends_at": "2026-02-24T04:00:00Z",
        "usage": [
            {"quota_name": "owner_contacts", "quota": 25, "used": 21, "percent": 84.0, "at": "2026-01-17T09:00:00Z"},
            {"quota_name": "site_visits", "quota": None, "used": 2, "percent": None, "at": "2026-01-16T09:00:00Z"},
        ]}]
    # Orders newest payment first, amounts exactly as Billing sent them.
    premium, boost = body["orders"]
    assert (premium["order_id"], premium["status"], premium["plan_code"], premium["transaction_type"],
            premium["rm_id"], premium["pipeline_id"]) == (
        w.order_id, "PARTIALLY_REFUNDED", "TENANT_PREMIUM_CTX", "SUBSCRIPTION_NEW", w.rm_a["id"],
        w.pipeline_a["id"])
    assert '"amount":1499.00' in response.text and '"refunded_amount":499.50' in response.text
    assert '"amount":499.50' in response.text and '"amount":1999.00' in response.text
    assert [r["amount"] for r in premium["refunds"]] == [499.5]
    assert (boost["order_id"], boost["status"], boost["refunded_amount"], boost["refunds"]) == (
        w.expired_order_id, "EXPIRED", 0, [])
    assert '"refunded_amount":0.00' in response.text
    assert body["more_orders"] is False
    assert body["preferences"] == {"marketing_opt_out": False, "channels_opted_out": ["SMS"],
                                   "preferred_channel": "WHATSAPP", "language": "hi-IN",
                                   "updated_at": "2026-01-01T00:00:00Z"}
    assert body["activity"] == {
        "last_7_days": {"days": 7, "since": "2026-01-10T10:30:00Z", "until": NOW, "views": 3, "contacts": 2},
        "last_30_days": {"days": 30, "since": "2025-12-18T10:30:00Z", "until": NOW, "views": 5, "contacts": 3},
    }
    # Open pipelines of every RM (newest first); the closed one is not listed. Details only for the RM's own.
    pipelines = {p["id"]: p for p in body["open_pipelines"]}
    assert set(pipelines) == {w.pipeline_a["id"], w.pipeline_b["id"]}
    mine, theirs = pipelines[w.pipeline_a["id"]], pipelines[w.pipeline_b["id"]]
    assert mine["rm"] == {"id": w.rm_a["id"], "name": "Priya Patel", "team": "Koramangala"}
    assert (mine["stage"], mine["source"], mine["probability"], mine["lead_id"]) == (
        "NEW", "REFERRAL", 40, w.pipeline_a["lead_id"])
    assert '"deal_value":25000.00' in response.text
    assert theirs["rm"] == {"id": w.rm_b["id"], "name": "Rohan Iyer", "team": "Indiranagar"}
    assert (theirs["stage"], theirs["lead_id"]) == ("NEW", w.pipeline_b["lead_id"])
    assert (theirs["source"], theirs["deal_value"], theirs["probability"], theirs["expected_close_date"]) == (
        None, None, None, None)


async def test_activity_windows_follow_the_business_clock(client, auth, engine):
    """The 7/30-day windows end at the business clock's `now` (PUT /admin/clock)."""
    w = await build_world(client, auth, engine)
    admin = auth.admin
    moved = await client.put(f"{API}/admin/clock", json={"advance_seconds": 2 * 86400}, headers=admin)
    assert moved.status_code == 200
    body = (await get(client, admin, w.customer)).json()
    # now = 01-19T10:30: the 7-day window (01-12T10:30, now] keeps now-view, 01-16, the late 01-17T10:30:01.
    assert body["activity"]["last_7_days"] == {"days": 7, "since": "2026-01-12T10:30:00Z",
                                               "until": "2026-01-19T10:30:00Z", "views": 3, "contacts": 1}
    assert body["activity"]["last_30_days"]["views"] == 6
    # Plans end on the clock too: at 02-24T04:00 Premium is no longer held and the customer is back on the free
    # plan (its latest usage shows again).
    await client.put(f"{API}/admin/clock", json={"now": "2026-02-24T04:00:00Z"}, headers=admin)
    later = (await get(client, admin, w.customer)).json()
    assert [(p["code"], p["order_id"], p["usage"][0]["percent"]) for p in later["active_plans"]] == [
        ("TENANT_BASIC_CTX", None, 80.0)]
    assert [o["status"] for o in later["orders"]] == ["PARTIALLY_REFUNDED", "EXPIRED"]  # Billing's facts unchanged


async def test_a_free_plan_in_use_without_an_order_is_held(client, auth, engine):
    """UPR-002: a user on the free plan at 80% of its contacts shows the plan and its usage."""
    await freeze_clock(client, auth.admin, at=NOW)
    basic = await make_plan(client, auth.admin, code="TENANT_BASIC_FREE", name="Tenant Basic", tier=0,
                            price=Decimal("0.00"), duration_days=365, features={"owner_contacts": 5})
    user = str(uuid.uuid4())
    assert await statuses(client, auth, event("entitlements.usage.updated", {
        "user_id": user, "plan_id": basic["id"], "quota_name": "owner_contacts", "quota": 5, "used": 4,
        "at": "2026-01-17T08:00:00Z"}, source="/mysqrft/entitlements")) == ["PROCESSED"]
    body = (await get(client, auth.headers("SUPPORT_AGENT"), user)).json()
    assert body["active_plans"] == [{
        "order_id": None, "plan_id": basic["id"], "code": "TENANT_BASIC_FREE", "name": "Tenant Basic", "tier": 0,
        "user_type": "TENANT", "starts_at": None, "ends_at": None,
        "usage": [{"quota_name": "owner_contacts", "quota": 5, "used": 4, "percent": 80.0,
                   "at": "2026-01-17T08:00:00Z"}]}]


async def test_a_customer_unknown_to_every_read_model_is_empty_for_org_wide_readers(client, auth):
    """Decision: 200 with empty sections (Sales cannot tell an unknown user from one with no facts yet)."""
    now = await freeze_clock(client, auth.admin, at=NOW)
    user = str(uuid.uuid4())
    for headers in (auth.admin, auth.headers("FINANCE_ADMIN"), auth.headers("SERVICE")):
        response = await get(client, headers, user)
        assert response.status_code == 200, response.text
        assert response.json() == {
            "user_id": user, "as_of": now, "audience": "STAFF", "contact": None, "active_plans": [], "orders": [],
            "more_orders": False, "preferences": None,
            "activity": {"last_7_days": {"days": 7, "since": "2026-01-10T10:30:00Z", "until": now, "views": 0,
                                         "contacts": 0},
                         "last_30_days": {"days": 30, "since": "2025-12-18T10:30:00Z", "until": now, "views": 0,
                                          "contacts": 0}},
            "open_pipelines": []}


# --- who sees it ---------------------------------------------------------------------------------

async def test_rm_with_only_a_closed_pipeline_still_works_with_the_customer(client, auth, engine):
    w = await build_world(client, auth, engine)
    body = (await get(client, auth.rm(uuid.UUID(w.rm_a_closed["id"])), w.customer)).json()
    assert body["audience"] == "STAFF" and body["contact"]["masked"] is False
    # Neither open pipeline is theirs: RM and stage only.
    assert all(p["deal_value"] is None and p["probability"] is None for p in body["open_pipelines"])


async def test_rm_without_a_pipeline_with_the_customer_gets_404(client, auth, engine):
    w = await build_world(client, auth, engine)
    assert_problem(await get(client, auth.rm(uuid.UUID(w.stranger["id"])), w.customer), 404, "customer_not_found")
    assert_problem(await get(client, auth.rm(uuid.uuid4()), w.customer), 404, "customer_not_found")


async def test_supervisor_sees_their_teams_customers_unmasked(client, auth, engine):
    w = await build_world(client, auth, engine)
    for team, details_of in ((w.team_a, w.pipeline_a), (w.team_b, w.pipeline_b)):
        response = await get(client, auth.supervisor(uuid.UUID(team["id"])), w.customer)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["contact"]["phone"] == "+91-9876543210" and body["orders"] is not None
        detailed = [p["id"] for p in body["open_pipelines"] if p["source"] is not None]
        assert detailed == [details_of["id"]]


async def test_supervisor_of_another_team_gets_404(client, auth, engine):
    w = await build_world(client, auth, engine)
    assert_problem(await get(client, auth.supervisor(uuid.UUID(w.team_c["id"])), w.customer), 404,
                   "customer_not_found")
    # A SUPERVISOR token without teams supervises nobody.
    assert_problem(await get(client, auth.headers("SUPERVISOR"), w.customer), 404, "customer_not_found")


@pytest.mark.parametrize("role", ["FINANCE_ADMIN", "SUPPORT_AGENT", "SERVICE"])
async def test_org_wide_readers_see_every_customer_with_contacts_masked(client, auth, engine, role):
    w = await build_world(client, auth, engine)
    response = await get(client, auth.headers(role), w.customer)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["contact"] == {"name": "Rahul Sharma", "phone": "+91-98XXXXXXXX", "email": "r***@example.com",
                               "masked": True}
    assert "9876543210" not in response.text and "rahul@example.com" not in response.text
    assert [o["order_id"] for o in body["orders"]] == [w.order_id, w.expired_order_id]
    assert '"amount":1499.00' in response.text
    assert {p["id"]: p["source"] for p in body["open_pipelines"]} == {w.pipeline_a["id"]: "REFERRAL",
                                                                      w.pipeline_b["id"]: "INBOUND_CALL"}


async def test_product_manager_sees_the_context_without_orders(client, auth, engine):
    """As on /orders: product work reads aggregates, not a customer's purchases (orders.permissions)."""
    w = await build_world(client, auth, engine)
    response = await get(client, auth.headers("PRODUCT_MANAGER"), w.customer)
    body = response.json()
    assert response.status_code == 200 and body["orders"] is None and "1499.00" not in response.text
    assert body["contact"]["masked"] is True
    assert [p["code"] for p in body["active_plans"]] == ["TENANT_PREMIUM_CTX"]
    assert (await client.get(f"{API}/orders", params={"user_id": w.customer},
                             headers=auth.headers("PRODUCT_MANAGER"))).status_code == 403


async def test_sales_admin_sees_contacts_in_full(client, auth, engine):
    w = await build_world(client, auth, engine)
    body = (await get(client, auth.admin, w.customer)).json()
    assert body["contact"]["phone"] == "+91-9876543210" and body["contact"]["masked"] is False


async def test_customer_sees_their_own_context_without_staff_details(client, auth, engine):
    w = await build_world(client, auth, engine)
    response = await get(client, auth.headers("CUSTOMER", sub=uuid.UUID(w.customer)), w.customer)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["audience"] == "CUSTOMER"
    assert body["contact"] == {"name": "Rahul Sharma", "phone": "+91-9876543210", "email": "rahul@example.com",
                               "masked": False}
    assert [p["usage"][0]["percent"] for p in body["active_plans"]] == [84.0]
    assert '"amount":1499.00' in response.text and '"refunded_amount":499.50' in response.text
    assert all(o["rm_id"] is None and o["pipeline_id"] is None for o in body["orders"])
    assert body["preferences"]["preferred_channel"] == "WHATSAPP"
    assert body["activity"]["last_30_days"]["views"] == 5
    # Their RMs by name and the stage; nothing internal (value, probability, source, lead, team).
    assert sorted((p["rm"]["name"], p["stage"]) for p in body["open_pipelines"]) == [
        ("Priya Patel", "NEW"), ("Rohan Iyer", "NEW")]
    for p in body["open_pipelines"]:
        assert p["rm"]["team"] is None
        assert (p["lead_id"], p["source"], p["deal_value"], p["probability"], p["expected_close_date"]) == (
            None, None, None, None, None)
    assert "25000" not in response.text and "Koramangala" not in response.text


async def test_customer_asking_for_another_id_gets_the_same_404_as_for_nobody(client, auth, engine):
    w = await build_world(client, auth, engine)
    me = auth.headers("CUSTOMER")
    known = await get(client, me, w.customer)
    unknown = await get(client, me, uuid.uuid4())
    assert_problem(known, 404, "customer_not_found")
    assert_problem(unknown, 404, "customer_not_found")
    assert known.json()["title"] == unknown.json()["title"]


async def test_without_a_token_is_401(client):
    assert_problem(await client.get(ctx_url(uuid.uuid4())), 401, "not_authenticated")
    assert_problem(await client.get(ctx_url(uuid.uuid4()), headers={"Authorization": "Bearer forged"}), 401,
                   "not_authenticated")


async def test_a_token_without_any_of_our_roles_is_403(client, auth):
    assert_problem(await get(client, auth.headers("LISTINGS_EDITOR"), uuid.uuid4()), 403, "forbidden")


@pytest.mark.parametrize("bad", ["not-a-uuid", "123", "00000000-0000-0000-0000-00000000000g"])
async def test_a_user_id_that_is_not_a_uuid_is_422(client, auth, bad):
    response = await client.get(f"{CUSTOMERS}/{bad}", headers=auth.admin)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


# --- how a lead names its customer -----------------------------------------------------------------

async def test_an_allocated_leads_customer_id_joins_the_pipeline_to_the_customer(client, auth):
    """leads.lead.created / POST /allocations: `customer.id` is the customer's platform user id; the RM the lead
    goes to works with that customer from then on."""
    await freeze_clock(client, auth.admin, at=NOW)
    team = await make_team(client, auth.admin, city="Bangalore")
    rm = await make_rm(client, auth.admin, team_id=team["id"])
    customer = str(uuid.uuid4())
    assert_problem(await get(client, auth.rm(uuid.UUID(rm["id"])), customer), 404, "customer_not_found")
    allocated = await client.post(f"{API}/allocations", headers=auth.admin, json={
        "lead_id": str(uuid.uuid4()), "customer": {"id": customer, "name": "Meera Nair", "phone": "+91-9123456789",
                                                   "email": "meera@example.com"},
        "city": "Bangalore", "locality": "Koramangala", "property_type": "RESIDENTIAL", "segment": "TENANT",
        "source": "WEBSITE", "rm_id": rm["id"], "reason": "test"})
    assert allocated.status_code == 201, allocated.text
    body = (await get(client, auth.rm(uuid.UUID(rm["id"])), customer)).json()
    assert body["contact"] == {"name": "Meera Nair", "phone": "+91-9123456789", "email": "meera@example.com",
                               "masked": False}
    assert [p["id"] for p in body["open_pipelines"]] == [allocated.json()["pipeline_id"]]


# --- SQL-first -------------------------------------------------------------------------------------

async def test_the_context_takes_the_same_few_statements_however_much_the_customer_has(client, auth, engine):
    """SQL-first: no statement per order, refund, quota or pipeline."""
    w = await build_world(client, auth, engine)
    rm = auth.rm(uuid.UUID(w.rm_a["id"]))
    statements: list[str] = []

    def count_statement(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    async def measure() -> tuple[int, int, int]:
        statements.clear()
        sa_event.listen(engine.sync_engine, "before_cursor_execute", count_statement)
        try:
            response = await get(client, rm, w.customer)
        finally:
            sa_event.remove(engine.sync_engine, "before_cursor_execute", count_statement)
        assert response.status_code == 200, response.text
        return len(statements), len(response.json()["orders"]), len(response.json()["open_pipelines"])

    before = await measure()
    for n in range(4):  # four more orders, each refunded, and four more open pipelines
        paid = payment(w.premium, user_id=w.customer, paid_at=f"2025-0{n + 1}-05T10:00:00Z")
        assert await statuses(client, auth, event("billing.payment.completed", paid),
                              event("billing.refund.completed", refund(paid["order_id"], "10.00"))) == ["PROCESSED"] * 2
        lead = await make_lead(engine, customer_id=uuid.UUID(w.customer))
        await make_pipeline(client, auth.admin, rm_id=w.rm_b["id"], lead_id=str(lead["id"]))
    after = await measure()
    assert (before[1:], after[1:]) == ((2, 2), (6, 6))
    assert after[0] == before[0] <= 12, statements


async def test_openapi_documents_the_response_model(client):
    spec = (await client.get("/openapi.json")).json()
    ok = spec["paths"]["/api/v1/sales/customers/{user_id}"]["get"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/CustomerContext"}
    fields = spec["components"]["schemas"]["CustomerContext"]["properties"]
    assert {"active_plans", "orders", "preferences", "activity", "open_pipelines", "contact"} <= fields.keys()
