"""Plans: GET/POST /plans, GET/PUT /plans/{id} (issue 10 §2 Plans)."""
from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from sales.catalog.models import plans
from sales.core.tables import audit_log
from tests.builders import API, freeze_clock
from tests.checks import assert_problem, audit_rows, count
from tests.commerce_builders import make_plan, plan_body, send

PLANS = f"{API}/plans"
STAFF = ["RM", "SUPERVISOR", "SALES_ADMIN", "FINANCE_ADMIN", "SUPPORT_AGENT", "PRODUCT_MANAGER", "SERVICE"]


async def test_create_plan_keeps_money_and_features_exact_and_audits(client, auth, engine):
    now = await freeze_clock(client, auth.admin)
    plan_id = str(uuid.uuid4())
    body = plan_body(id=plan_id, code="TENANT_PRIME", name="Tenant Prime", tier=2, price=Decimal("2999.00"),
                     duration_days=90, features={"owner_contacts": 60, "relationship_manager": True,
                                                 "boost_factor": Decimal("1.50"), "rental_agreement": "doorstep"})
    response = await send(client, "POST", PLANS, body, auth.admin)
    assert response.status_code == 201, response.text
    assert '"price":2999.00' in response.text and '"boost_factor":1.50' in response.text
    assert response.json() == {
        "id": plan_id, "code": "TENANT_PRIME", "name": "Tenant Prime", "user_type": "TENANT", "tier": 2,
        "price": 2999.0, "duration_days": 90, "active": True, "created_at": now, "updated_at": now,
        "features": {"owner_contacts": 60, "relationship_manager": True, "boost_factor": 1.5,
                     "rental_agreement": "doorstep"}}
    [entry] = await audit_rows(engine, entity_type="plan")
    assert (entry.action, entry.entity_id, entry.actor_roles) == ("plan.created", plan_id, ["SALES_ADMIN"])
    assert entry.after["price"] == Decimal("2999.00")
    got = await client.get(f"{PLANS}/{plan_id}", headers=auth.headers("CUSTOMER"))
    assert got.status_code == 200 and '"price":2999.00' in got.text and got.json()["features"]["owner_contacts"] == 60


async def test_service_may_write_plans_for_backfill(client, auth):
    response = await send(client, "POST", PLANS, plan_body(price=Decimal("0.00"), tier=0), auth.headers("SERVICE"))
    assert response.status_code == 201, response.text
    assert '"price":0.00' in response.text


async def test_a_duplicate_code_is_409_and_writes_nothing(client, auth, engine):
    await make_plan(client, auth.admin, code="TENANT_PREMIUM")
    response = await send(client, "POST", PLANS, plan_body(code="TENANT_PREMIUM"), auth.admin)
    assert_problem(response, 409, "plan_code_taken")
    assert await count(engine, plans) == 1 and await count(engine, audit_log) == 1


async def test_a_duplicate_id_is_409(client, auth, engine):
    plan = await make_plan(client, auth.admin)
    response = await send(client, "POST", PLANS, plan_body(id=plan["id"]), auth.admin)
    assert_problem(response, 409, "plan_exists")
    assert await count(engine, plans) == 1


@pytest.mark.parametrize(("overrides", "loc"), [
    ({"code": ""}, ["body", "code"]),
    ({"code": "has space"}, ["body", "code"]),
    ({"code": "X" * 65}, ["body", "code"]),
    ({"code": "A\x00B"}, ["body", "code"]),
    ({"name": "x" * 201}, ["body", "name"]),
    ({"name": "Prime\x00"}, ["body", "name"]),
    ({"user_type": "AGENT"}, ["body", "user_type"]),
    ({"tier": -1}, ["body", "tier"]),
    ({"tier": True}, ["body", "tier"]),
    ({"tier": Decimal("1.5")}, ["body", "tier"]),
    ({"price": Decimal("-1.00")}, ["body", "price"]),
    ({"price": Decimal("1499.001")}, ["body", "price"]),
    ({"price": "lots"}, ["body", "price"]),
    ({"duration_days": 0}, ["body", "duration_days"]),
    ({"features": [1]}, ["body", "features"]),
    ({"features": {"nested": {"owner_contacts": 5}}}, ["body", "features"]),
    ({"features": {"Bad Name": 5}}, ["body", "features"]),
    ({"features": {"note": "a\x00b"}}, ["body", "features"]),
    ({"active": "yes"}, ["body", "active"]),
    ({"id": "nope"}, ["body", "id"]),
    ({"surprise": 1}, ["body", "surprise"]),
])
async def test_bad_plan_input_is_422_naming_the_field(client, auth, engine, overrides, loc):
    response = await send(client, "POST", PLANS, plan_body(**overrides), auth.admin)
    assert_problem(response, 422, "validation_error", loc=loc)
    assert await count(engine, plans) == 0


async def test_plans_need_a_token(client):
    assert_problem(await client.get(PLANS), 401, "not_authenticated")
    assert_problem(await client.post(PLANS, json=plan_body(price="1.00")), 401, "not_authenticated")


@pytest.mark.parametrize("role", ["RM", "SUPERVISOR", "FINANCE_ADMIN", "SUPPORT_AGENT", "PRODUCT_MANAGER",
                                  "CUSTOMER"])
async def test_only_sales_admin_and_service_write_plans(client, auth, engine, role):
    plan = await make_plan(client, auth.admin)
    headers = auth.headers(role)
    assert_problem(await send(client, "POST", PLANS, plan_body(), headers), 403, "forbidden")
    assert_problem(await send(client, "PUT", f"{PLANS}/{plan['id']}", {"name": "X"}, headers), 403, "forbidden")
    assert await count(engine, plans) == 1


async def _catalogue(client, auth):  # type: ignore[no-untyped-def]
    made = {}
    for code, user_type, tier, active in (("TENANT_PRIME", "TENANT", 2, True), ("OWNER_BASIC", "OWNER", 0, True),
                                          ("TENANT_BASIC", "TENANT", 0, True), ("TENANT_OLD", "TENANT", 1, False),
                                          ("BUYER_ASSIST", "BUYER", 1, True)):
        made[code] = await make_plan(client, auth.admin, code=code, user_type=user_type, tier=tier, active=active)
    return made


@pytest.mark.parametrize("role", STAFF)
async def test_every_staff_role_reads_the_whole_catalogue_by_user_type_and_tier(client, auth, role):
    await _catalogue(client, auth)
    response = await client.get(PLANS, headers=auth.headers(role))
    assert response.status_code == 200, response.text
    assert [p["code"] for p in response.json()["items"]] == [
        "BUYER_ASSIST", "OWNER_BASIC", "TENANT_BASIC", "TENANT_OLD", "TENANT_PRIME"]


async def test_a_customer_sees_only_plans_on_sale(client, auth):
    made = await _catalogue(client, auth)
    customer = auth.headers("CUSTOMER")
    response = await client.get(PLANS, headers=customer)
    assert "TENANT_OLD" not in [p["code"] for p in response.json()["items"]]
    assert len(response.json()["items"]) == 4
    assert (await client.get(PLANS, params={"active": "false"}, headers=customer)).json()["items"] == []
    assert_problem(await client.get(f"{PLANS}/{made['TENANT_OLD']['id']}", headers=customer), 404, "plan_not_found")
    assert (await client.get(f"{PLANS}/{made['TENANT_OLD']['id']}", headers=auth.headers("RM"))).status_code == 200


async def test_plans_filter_by_user_type_and_active_with_cursor_pages(client, auth):
    await _catalogue(client, auth)
    r = await client.get(PLANS, params={"user_type": "TENANT", "active": "true"}, headers=auth.admin)
    assert [p["code"] for p in r.json()["items"]] == ["TENANT_BASIC", "TENANT_PRIME"]
    codes, cursor = [], None
    for _ in range(3):
        page = (await client.get(PLANS, params={"limit": 2, **({"cursor": cursor} if cursor else {})},
                                 headers=auth.admin)).json()
        codes += [p["code"] for p in page["items"]]
        cursor = page["next_cursor"]
    assert codes == ["BUYER_ASSIST", "OWNER_BASIC", "TENANT_BASIC", "TENANT_OLD", "TENANT_PRIME"] and cursor is None


@pytest.mark.parametrize("params", [{"user_type": "AGENT"}, {"active": "maybe"}, {"cursor": "!!"}, {"limit": 0},
                                    {"cursor": "WyJURU5BTlQiLCJ4IiwiQSJd"}])
async def test_bad_plan_queries_are_422(client, auth, params):
    assert_problem(await client.get(PLANS, params=params, headers=auth.admin), 422, "validation_error")


async def test_unknown_plan_is_404(client, auth):
    assert_problem(await client.get(f"{PLANS}/{uuid.uuid4()}", headers=auth.admin), 404, "plan_not_found")
    assert_problem(await send(client, "PUT", f"{PLANS}/{uuid.uuid4()}", {"name": "X"}, auth.admin), 404,
                   "plan_not_found")
    assert_problem(await client.get(f"{PLANS}/not-a-uuid", headers=auth.admin), 422, "validation_error")


async def test_update_changes_only_given_fields_and_audits_before_and_after(client, auth, engine):
    plan = await make_plan(client, auth.admin, code="TENANT_PREMIUM", price=Decimal("1499.00"))
    response = await send(client, "PUT", f"{PLANS}/{plan['id']}",
                          {"price": Decimal("1599.00"), "active": False, "features": {"owner_contacts": 30}},
                          auth.headers("SERVICE"))
    assert response.status_code == 200, response.text
    got = response.json()
    assert '"price":1599.00' in response.text
    assert (got["code"], got["active"], got["features"], got["tier"]) == ("TENANT_PREMIUM", False,
                                                                         {"owner_contacts": 30}, 1)
    entries = await audit_rows(engine, entity_type="plan")
    assert [e.action for e in entries] == ["plan.created", "plan.updated"]
    assert entries[1].before["price"] == Decimal("1499.00") and entries[1].after["price"] == Decimal("1599.00")
    assert entries[1].actor_roles == ["SERVICE"]


async def test_update_to_a_taken_code_is_409_and_changes_nothing(client, auth):
    await make_plan(client, auth.admin, code="TENANT_PRIME")
    plan = await make_plan(client, auth.admin, code="TENANT_PREMIUM")
    response = await send(client, "PUT", f"{PLANS}/{plan['id']}", {"code": "TENANT_PRIME", "name": "Renamed"},
                          auth.admin)
    assert_problem(response, 409, "plan_code_taken")
    got = (await client.get(f"{PLANS}/{plan['id']}", headers=auth.admin)).json()
    assert (got["code"], got["name"]) == ("TENANT_PREMIUM", "Tenant Premium")
    # keeping its own code is fine
    same = await send(client, "PUT", f"{PLANS}/{plan['id']}", {"code": "TENANT_PREMIUM"}, auth.admin)
    assert same.status_code == 200, same.text


@pytest.mark.parametrize(("body", "loc"), [
    ({"name": None}, ["body", "name"]),
    ({"price": None}, ["body", "price"]),
    ({"features": None}, ["body", "features"]),
    ({"id": str(uuid.UUID(int=1))}, ["body", "id"]),
    ({"tier": 101}, ["body", "tier"]),
    ({"features": {"x": [1]}}, ["body", "features"]),
])
async def test_bad_update_is_422_naming_the_field(client, auth, engine, body, loc):
    plan = await make_plan(client, auth.admin)
    assert_problem(await send(client, "PUT", f"{PLANS}/{plan['id']}", body, auth.admin), 422, "validation_error",
                   loc=loc)
    assert len(await audit_rows(engine, entity_type="plan")) == 1
