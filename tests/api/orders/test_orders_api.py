"""PUT /orders/{id} (backfill upsert), GET /orders, GET /orders/{id} with scoping (issue 10 §2 Orders)."""
from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from sales.orders.models import orders
from tests.builders import API, freeze_clock, make_rm, make_team
from tests.checks import assert_problem, audit_rows, count
from tests.commerce_builders import event, make_plan, refund, send, statuses

ORDERS = f"{API}/orders"


def order_body(plan, **overrides):  # type: ignore[no-untyped-def]
    return {"payment_id": str(uuid.uuid4()), "user_id": str(uuid.uuid4()), "user_type": plan["user_type"],
            "plan_id": plan["id"], "amount": Decimal("1499.00"), "currency": "INR",
            "paid_at": "2026-01-05T10:00:00Z", **overrides}


async def put(client, headers, order_id, body):  # type: ignore[no-untyped-def]
    return await send(client, "PUT", f"{ORDERS}/{order_id}", body, headers)


async def test_put_creates_then_the_same_body_changes_nothing(client, auth, engine):
    now = await freeze_clock(client, auth.admin)
    plan = await make_plan(client, auth.admin, duration_days=45)
    order_id, body = str(uuid.uuid4()), order_body(plan)
    created = await put(client, auth.headers("SERVICE"), order_id, body)
    assert created.status_code == 201, created.text
    assert '"amount":1499.00' in created.text
    got = created.json()
    assert (got["order_id"], got["status"], got["transaction_type"], got["starts_at"], got["ends_at"]) == (
        order_id, "ACTIVE", "SUBSCRIPTION_NEW", "2026-01-05T10:00:00Z", "2026-02-19T10:00:00Z")
    assert got["created_at"] == now
    again = await put(client, auth.admin, order_id, body)
    assert again.status_code == 200 and again.json() == got
    assert [e.action for e in await audit_rows(engine, entity_type="order")] == ["order.recorded"]


async def test_put_brings_an_order_to_new_facts_and_audits(client, auth, engine):
    plan = await make_plan(client, auth.admin, duration_days=30)
    order_id, body = str(uuid.uuid4()), order_body(plan, rm_id=str(uuid.uuid4()))
    await put(client, auth.admin, order_id, body)
    changed = await put(client, auth.admin, order_id, {**body, "rm_id": None, "amount": Decimal("1299.00"),
                                                        "paid_at": "2026-01-06T10:00:00+05:30", "status": "CANCELLED"})
    assert changed.status_code == 200, changed.text
    got = changed.json()
    assert (got["amount"], got["status"], got["rm_id"], got["starts_at"], got["ends_at"]) == (
        1299.0, "CANCELLED", body["rm_id"], "2026-01-06T04:30:00Z", "2026-02-05T04:30:00Z")
    entries = await audit_rows(engine, entity_type="order")
    assert [e.action for e in entries] == ["order.recorded", "order.updated"]
    assert entries[1].before["amount"] == Decimal("1499.00") and entries[1].after["amount"] == Decimal("1299.00")


async def test_put_never_undoes_refunds(client, auth):
    plan = await make_plan(client, auth.admin)
    order_id, body = str(uuid.uuid4()), order_body(plan)
    await put(client, auth.admin, order_id, body)
    assert await statuses(client, auth, event("billing.refund.completed", refund(order_id, "1499.00"))) == ["PROCESSED"]
    same = await put(client, auth.admin, order_id, {**body, "status": "ACTIVE"})
    assert same.status_code == 200 and same.json()["status"] == "REFUNDED"
    assert_problem(await put(client, auth.admin, order_id, {**body, "status": "EXPIRED"}), 409, "order_refunded")
    assert_problem(await put(client, auth.admin, order_id, {**body, "amount": Decimal("1000.00")}), 409,
                   "order_amount_below_refunds")
    more = await put(client, auth.admin, order_id, {**body, "amount": Decimal("2000.00")})
    assert more.json()["status"] == "PARTIALLY_REFUNDED" and '"refunded_amount":1499.00' in more.text


async def test_put_with_an_unknown_plan_is_422_naming_it(client, auth, engine):
    body = order_body({"id": str(uuid.uuid4()), "user_type": "TENANT"})
    assert_problem(await put(client, auth.admin, uuid.uuid4(), body), 422, "unknown_plan", loc=["body", "plan_id"])
    assert await count(engine, orders) == 0


@pytest.mark.parametrize(("overrides", "loc"), [
    ({"amount": Decimal("1.001")}, ["body", "amount"]),
    ({"amount": Decimal("-1.00")}, ["body", "amount"]),
    ({"currency": "inr"}, ["body", "currency"]),
    ({"currency": "IN\x00"}, ["body", "currency"]),
    ({"paid_at": "2026-01-05T10:00:00"}, ["body", "paid_at"]),
    ({"paid_at": "9999-12-31T23:59:59-14:00"}, ["body", "paid_at"]),
    ({"user_type": "OWNER"}, ["body", "user_type"]),
    ({"status": "REFUNDED"}, ["body", "status"]),
    ({"transaction_type": "GIFT"}, ["body", "transaction_type"]),
    ({"user_id": None}, ["body", "user_id"]),
    ({"refunded_amount": Decimal("1.00")}, ["body", "refunded_amount"]),
])
async def test_put_bad_input_is_422_naming_the_field(client, auth, engine, overrides, loc):
    plan = await make_plan(client, auth.admin)
    assert_problem(await put(client, auth.admin, uuid.uuid4(), order_body(plan, **overrides)), 422,
                   "validation_error", loc=loc)
    assert await count(engine, orders) == 0


async def test_orders_need_a_token(client):
    assert_problem(await client.get(ORDERS), 401, "not_authenticated")
    assert_problem(await client.put(f"{ORDERS}/{uuid.uuid4()}", json={}), 401, "not_authenticated")


@pytest.mark.parametrize("role", ["RM", "SUPERVISOR", "FINANCE_ADMIN", "SUPPORT_AGENT", "PRODUCT_MANAGER",
                                  "CUSTOMER"])
async def test_only_service_and_sales_admin_put_orders(client, auth, engine, role):
    plan = await make_plan(client, auth.admin)
    assert_problem(await put(client, auth.headers(role), uuid.uuid4(), order_body(plan)), 403, "forbidden")
    assert await count(engine, orders) == 0


async def _sold(client, auth):  # type: ignore[no-untyped-def]
    """Two teams with an RM each; orders sold by each RM, one sold by nobody."""
    plan = await make_plan(client, auth.admin)
    team_a, team_b = await make_team(client, auth.admin), await make_team(client, auth.admin)
    rm_a = await make_rm(client, auth.admin, team_id=team_a["id"])
    rm_b = await make_rm(client, auth.admin, team_id=team_b["id"])
    customer = str(uuid.uuid4())
    ids = {}
    for name, rm, user, day in (("a", rm_a["id"], customer, 1), ("b", rm_b["id"], str(uuid.uuid4()), 2),
                                ("direct", None, customer, 3)):
        ids[name] = str(uuid.uuid4())
        r = await put(client, auth.admin, ids[name], order_body(plan, rm_id=rm, user_id=user,
                                                                  paid_at=f"2026-01-0{day}T10:00:00Z"))
        assert r.status_code == 201, r.text
    return {"team_a": team_a, "rm_a": rm_a, "rm_b": rm_b, "customer": customer, **ids}


async def _visible(client, headers, world):  # type: ignore[no-untyped-def]
    r = await client.get(ORDERS, headers=headers)
    assert r.status_code == 200, r.text
    names = {v: k for k, v in world.items() if k in ("a", "b", "direct")}
    listed = [names[o["order_id"]] for o in r.json()["items"]]
    single = {k for k in ("a", "b", "direct")
              if (await client.get(f"{ORDERS}/{world[k]}", headers=headers)).status_code == 200}
    assert set(listed) == single
    return listed


@pytest.mark.parametrize("role", ["SALES_ADMIN", "FINANCE_ADMIN", "SUPPORT_AGENT", "SERVICE"])
async def test_org_wide_readers_see_every_order_newest_payment_first(client, auth, role):
    world = await _sold(client, auth)
    assert await _visible(client, auth.headers(role), world) == ["direct", "b", "a"]


async def test_an_rm_sees_the_orders_they_sold_and_others_are_404(client, auth):
    world = await _sold(client, auth)
    assert await _visible(client, auth.rm(uuid.UUID(world["rm_a"]["id"])), world) == ["a"]
    assert_problem(await client.get(f"{ORDERS}/{world['b']}", headers=auth.rm(uuid.UUID(world["rm_a"]["id"]))),
                   404, "order_not_found")


async def test_a_supervisor_sees_the_orders_their_teams_sold(client, auth):
    world = await _sold(client, auth)
    assert await _visible(client, auth.supervisor(uuid.UUID(world["team_a"]["id"])), world) == ["a"]
    assert await _visible(client, auth.supervisor(uuid.uuid4()), world) == []


async def test_a_customer_sees_only_their_own_orders(client, auth):
    world = await _sold(client, auth)
    mine = auth.headers("CUSTOMER", sub=uuid.UUID(world["customer"]))
    assert await _visible(client, mine, world) == ["direct", "a"]
    assert_problem(await client.get(f"{ORDERS}/{world['b']}", headers=mine), 404, "order_not_found")
    other = (await client.get(ORDERS, params={"user_id": str(uuid.uuid4())}, headers=mine)).json()
    assert other["items"] == []
    assert await _visible(client, auth.headers("CUSTOMER"), world) == []


async def test_product_managers_do_not_read_orders(client, auth):
    world = await _sold(client, auth)
    assert_problem(await client.get(ORDERS, headers=auth.headers("PRODUCT_MANAGER")), 403, "forbidden")
    assert_problem(await client.get(f"{ORDERS}/{world['a']}", headers=auth.headers("PRODUCT_MANAGER")), 403,
                   "forbidden")
    # a PRODUCT_MANAGER who is also an RM reads what they sold, not every order
    pm_rm = auth.headers("PRODUCT_MANAGER", "RM", sub=uuid.UUID(world["rm_a"]["id"]))
    assert await _visible(client, pm_rm, world) == ["a"]


async def test_orders_filter_by_user_and_status_with_cursor_pages(client, auth):
    world = await _sold(client, auth)
    await send(client, "POST", f"{API}/events", event("billing.refund.completed", refund(world["a"], "10.00")),
               auth.headers("SERVICE"))
    r = await client.get(ORDERS, params={"user_id": world["customer"]}, headers=auth.admin)
    assert [o["order_id"] for o in r.json()["items"]] == [world["direct"], world["a"]]
    r = await client.get(ORDERS, params={"status": "PARTIALLY_REFUNDED"}, headers=auth.admin)
    assert [o["order_id"] for o in r.json()["items"]] == [world["a"]]
    seen, cursor = [], None
    for _ in range(3):
        page = (await client.get(ORDERS, params={"limit": 1, **({"cursor": cursor} if cursor else {})},
                                 headers=auth.admin)).json()
        seen += [o["order_id"] for o in page["items"]]
        cursor = page["next_cursor"]
    assert seen == [world["direct"], world["b"], world["a"]] and cursor is None


@pytest.mark.parametrize("params", [{"status": "PAID"}, {"user_id": "me"}, {"cursor": "bm9wZQ"}, {"limit": 501},
                                    {"cursor": "WyIyMDI2LTAxLTAxVDAwOjAwOjAwIiwiYSJd"}])
async def test_bad_order_queries_are_422(client, auth, params):
    assert_problem(await client.get(ORDERS, params=params, headers=auth.admin), 422, "validation_error")


async def test_unknown_order_is_404(client, auth):
    assert_problem(await client.get(f"{ORDERS}/{uuid.uuid4()}", headers=auth.admin), 404, "order_not_found")
