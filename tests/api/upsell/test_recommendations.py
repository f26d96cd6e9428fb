"""GET /upsells/recommendations/{user_id} (PRD §7.2, §2.2.1 plan comparison and recommendation; issue 11)."""
from __future__ import annotations

import uuid

from tests.allocation_builders import advance
from tests.api.upsell.helpers import UPSELLS, create, respond, start
from tests.checks import assert_problem
from tests.commerce_builders import event, payment, statuses


def url(user):  # type: ignore[no-untyped-def]
    return f"{UPSELLS}/recommendations/{user}"


async def test_ranks_plans_above_the_current_one_quota_pressure_first_with_gains_and_the_gate(client, auth):
    plans = await start(client, auth)
    user = str(uuid.uuid4())
    usage = {"user_id": user, "plan_id": plans["basic"]["id"], "quota_name": "owner_contacts", "quota": 5,
             "used": 3, "at": "2026-01-10T09:00:00Z"}
    assert await statuses(client, auth, event("entitlements.usage.updated", usage,
                                              source="/mysqrft/entitlements")) == ["PROCESSED"]
    r = await client.get(url(user), headers=auth.headers("PRODUCT_MANAGER"))
    assert r.status_code == 200, r.text
    got = r.json()
    # No paid plan held (free tier 0): every TENANT plan above it; the gate allows an upsell now.
    assert [i["code"] for i in got["items"]] == [plans[k]["code"] for k in ("premium", "prime")]
    assert got["items"][0]["reason"] == "UPGRADE: no paid plan held"
    assert got["items"][0]["gains"] == [{"name": "owner_contacts", "current": None, "target": 25}]
    assert (got["gate"]["allowed"], got["gate"]["channel"], got["gate"]["blocking_rules"]) == (
        True, "IN_APP_BANNER", [])
    assert '"price":1499.00' in r.text


async def test_a_held_plan_at_80_percent_ranks_the_plans_raising_that_quota_first(client, auth):
    plans = await start(client, auth)
    user = str(uuid.uuid4())
    paid = payment(plans["premium"], user_id=user, paid_at="2026-01-09T10:00:00Z")
    usage = {"user_id": user, "plan_id": plans["premium"]["id"], "order_id": paid["order_id"],
             "quota_name": "owner_contacts", "quota": 25, "used": 20, "at": "2026-01-10T09:00:00Z"}
    assert await statuses(client, auth, event("billing.payment.completed", paid),
                          event("entitlements.usage.updated", usage, source="/mysqrft/entitlements")) == [
        "PROCESSED"] * 2
    got = (await client.get(url(user), headers=auth.headers("CUSTOMER", sub=uuid.UUID(user)))).json()
    [prime] = got["items"]
    assert (prime["plan_id"], prime["current_plan_id"], prime["reason"], prime["price"]) == (
        plans["prime"]["id"], plans["premium"]["id"], "QUOTA_THRESHOLD: owner_contacts at 80.0% (UPR-002)", 2999.0)
    assert prime["gains"] == [{"name": "owner_contacts", "current": 25, "target": 60}]
    # The quota upsell the usage event created; dismissed, UPR-001 closes the gate for 48 h.
    [upsell] = (await client.get(UPSELLS, params={"user_id": user}, headers=auth.headers("SERVICE"))).json()["items"]
    await respond(client, auth.headers("CUSTOMER", sub=uuid.UUID(user)), upsell["id"], "DISMISSED")
    await advance(client, auth.admin, 3600)
    gate = (await client.get(url(user), headers=auth.headers("SERVICE"))).json()["gate"]
    assert (gate["allowed"], gate["channel"], gate["blocking_rules"]) == (False, None, ["UPR-001"])
    owner = (await client.get(url(user), params={"user_type": "OWNER"}, headers=auth.headers("SERVICE"))).json()
    assert [i["plan_id"] for i in owner["items"]] == [plans["boost"]["id"]]


async def test_scoping_and_errors(client, auth):
    await start(client, auth)
    user = str(uuid.uuid4())
    assert_problem(await client.get(url(user)), 401, "not_authenticated")
    assert_problem(await client.get(url(user), headers=auth.headers("FINANCE_ADMIN")), 403, "forbidden")
    assert_problem(await client.get(url(user), headers=auth.headers("RM")), 404, "customer_not_found")
    assert_problem(await client.get(url(user), headers=auth.headers("CUSTOMER")), 404, "customer_not_found")
    assert_problem(await client.get(url("me"), headers=auth.headers("SERVICE")), 422, "validation_error")
    assert_problem(await client.get(url(user), params={"user_type": "LANDLORD"}, headers=auth.headers("SERVICE")),
                   422, "validation_error")
    assert (await create(client, auth.headers("SERVICE"), {"id": str(uuid.uuid4()), "user_type": "TENANT"},
                         user)).status_code == 422
