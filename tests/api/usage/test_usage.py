"""Plan usage from entitlements.usage.updated and PUT /usage/{user_id}; the domain's service functions
`usage_for` and `active_orders_for` (issue 10 §2 Plan usage, Orders; UPR-002)."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from sales.orders import service as orders_service
from sales.usage import service as usage_service
from sales.usage.models import plan_usage
from tests.allocation_builders import advance, run_job, set_clock
from tests.builders import API
from tests.checks import assert_problem, audit_rows, count
from tests.commerce_builders import deliver, event, make_plan, payment, send, statuses

USAGE = f"{API}/usage"


def usage(plan, user_id, *, used, at, quota=25, quota_name="owner_contacts",  # type: ignore[no-untyped-def]
          **overrides):
    return {"user_id": user_id, "plan_id": plan["id"], "quota_name": quota_name, "quota": quota, "used": used,
            "at": at, **overrides}


def updated(data, **kw):  # type: ignore[no-untyped-def]
    return event("entitlements.usage.updated", data, source="/mysqrft/entitlements", **kw)


async def usage_of(engine, user_id):  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        return [u.model_dump() for u in await usage_service.usage_for(conn, uuid.UUID(user_id))]


async def test_first_delivery_stores_usage_with_its_percentage(client, auth, engine):
    plan = await make_plan(client, auth.admin)
    user = str(uuid.uuid4())
    assert await statuses(client, auth, updated(usage(plan, user, used=20, at="2026-01-10T10:00:00+05:30"))) \
        == ["PROCESSED"]
    assert await usage_of(engine, user) == [{
        "plan_id": uuid.UUID(plan["id"]), "order_id": None, "quota_name": "owner_contacts", "quota": 25,
        "used": 20, "percent": Decimal("80.0"), "at": datetime(2026, 1, 10, 4, 30, tzinfo=UTC)}]


async def test_newer_replaces_older_never_does_and_duplicates_change_nothing(client, auth, engine):
    """Out of order: the 10:05 measurement arrives before the 10:01 one and is kept."""
    plan = await make_plan(client, auth.admin)
    user = str(uuid.uuid4())
    newest = updated(usage(plan, user, used=7, at="2026-01-10T10:05:00Z"))
    assert await statuses(client, auth, updated(usage(plan, user, used=3, at="2026-01-10T10:00:00Z")), newest,
                          updated(usage(plan, user, used=5, at="2026-01-10T10:01:00Z")), newest,
                          updated(usage(plan, user, used=9, at="2026-01-10T10:05:00Z"))) == [
        "PROCESSED", "PROCESSED", "PROCESSED", "DUPLICATE", "PROCESSED"]
    [row] = await usage_of(engine, user)
    assert (row["used"], row["at"]) == (7, datetime(2026, 1, 10, 10, 5, tzinfo=UTC))  # same `at`: first wins
    assert await statuses(client, auth, updated(usage(plan, user, used=8, quota=None,
                                                      at="2026-01-10T10:06:00Z"))) == ["PROCESSED"]
    [row] = await usage_of(engine, user)
    assert (row["used"], row["quota"], row["percent"]) == (8, None, None)


async def test_usage_is_kept_per_plan_and_quota(client, auth, engine):
    basic = await make_plan(client, auth.admin, tier=0)
    premium = await make_plan(client, auth.admin)
    user = str(uuid.uuid4())
    await deliver(client, auth, updated(usage(basic, user, used=4, quota=5, at="2026-01-01T10:00:00Z")),
                  updated(usage(premium, user, used=2, at="2026-01-10T10:00:00Z")),
                  updated(usage(premium, user, quota_name="site_visits", quota=3, used=1, at="2026-01-10T10:00:00Z")))
    got = {(str(u["plan_id"]), u["quota_name"]): u["percent"] for u in await usage_of(engine, user)}
    assert got == {(basic["id"], "owner_contacts"): Decimal("80.0"), (premium["id"], "owner_contacts"): Decimal("8.0"),
                   (premium["id"], "site_visits"): Decimal("33.3")}


async def test_usage_of_a_plan_or_order_not_known_yet_retries_then_applies(client, auth, engine):
    await set_clock(client, auth.admin, "2026-01-10T10:00:00Z")
    plan_id, user = str(uuid.uuid4()), str(uuid.uuid4())
    order = payment({"id": plan_id, "user_type": "TENANT", "price": "1499.00"}, user_id=user)
    measured = updated(usage({"id": plan_id}, user, used=1, at="2026-01-10T09:00:00Z", order_id=order["order_id"]))
    [outcome] = await deliver(client, auth, measured)
    assert outcome["status"] == "FAILED" and "unknown plan" in outcome["error"]
    await make_plan(client, auth.admin, id=plan_id)
    await advance(client, auth.admin, 3600)
    assert (await run_job(client, auth.admin, "inbox-retry"))["processed"] == 1
    assert await count(engine, plan_usage) == 0  # now the order is missing
    assert await statuses(client, auth, event("billing.payment.completed", order)) == ["PROCESSED"]
    await advance(client, auth.admin, 3600)
    assert (await run_job(client, auth.admin, "inbox-retry"))["processed"] == 1
    [row] = await usage_of(engine, user)
    assert str(row["order_id"]) == order["order_id"]


@pytest.mark.parametrize(("overrides", "problem"), [
    ({"used": -1}, "used"),
    ({"used": Decimal("1.5")}, "used"),
    ({"used": True}, "used"),
    ({"quota": "25"}, "quota"),
    ({"quota_name": "Owner Contacts"}, "quota_name"),
    ({"quota_name": "x" * 65}, "quota_name"),
    ({"quota_name": "a\u2028"}, "quota_name"),
    ({"at": "2026-01-10T10:00:00"}, "at"),
    ({"at": None}, "at"),
    ({"user_id": "me"}, "user_id"),
    ({"order_id": "o"}, "order_id"),
])
async def test_a_bad_usage_event_is_parked_at_once(client, auth, engine, overrides, problem):
    plan = await make_plan(client, auth.admin)
    data = {k: v for k, v in {**usage(plan, str(uuid.uuid4()), used=1, at="2026-01-10T10:00:00Z"),
                              **overrides}.items() if v is not None}
    [outcome] = await deliver(client, auth, updated(data, valid=False))
    assert (outcome["status"], outcome["attempts"]) == ("PARKED", 1) and problem in outcome["error"]
    assert await count(engine, plan_usage) == 0


async def test_put_usage_backfills_newest_wins_and_audits_what_it_stored(client, auth, engine):
    plan = await make_plan(client, auth.admin)
    user = str(uuid.uuid4())
    item = {k: v for k, v in usage(plan, user, used=20, at="2026-01-10T10:00:00Z").items() if k != "user_id"}
    response = await send(client, "PUT", f"{USAGE}/{user}", {"items": [item, {**item, "used": 2,
                                                                             "at": "2026-01-09T10:00:00Z"}]},
                          auth.headers("SERVICE"))
    assert response.status_code == 200, response.text
    assert '"percent":80.0' in response.text
    assert response.json() == {"user_id": user, "items": [{
        "plan_id": plan["id"], "order_id": None, "quota_name": "owner_contacts", "quota": 25, "used": 20,
        "percent": 80.0, "at": "2026-01-10T10:00:00Z"}]}
    [entry] = await audit_rows(engine, entity_type="plan_usage")
    assert (entry.action, entry.entity_id, entry.after["used"]) == ("usage.recorded", user, 20)
    again = await send(client, "PUT", f"{USAGE}/{user}", {"items": [item]}, auth.admin)
    assert again.json() == response.json() and len(await audit_rows(engine, entity_type="plan_usage")) == 1


@pytest.mark.parametrize(("body", "loc"), [
    ({"items": []}, ["body", "items"]),
    ({}, ["body", "items"]),
    ({"items": [{"quota_name": "x"}]}, ["body", "items", 0, "plan_id"]),
    ({"items": [{"plan_id": "PLAN", "quota_name": "x", "quota": 1, "used": 1, "at": "2026-01-10T10:00:00Z"}]},
     ["body", "items", 0, "plan_id"]),
    ({"items": [{"plan_id": str(uuid.uuid4()), "quota_name": "x", "quota": 1, "used": 1,
                 "at": "2026-01-10T10:00:00Z"}]}, ["body", "items", 0, "plan_id"]),
])
async def test_put_usage_bad_input_is_422_naming_the_field(client, auth, engine, body, loc):
    response = await send(client, "PUT", f"{USAGE}/{uuid.uuid4()}", body, auth.admin)
    assert response.status_code == 422, response.text
    assert loc in [e["loc"] for e in response.json()["errors"]]
    assert await count(engine, plan_usage) == 0


async def test_put_usage_unknown_order_is_422(client, auth, engine):
    plan = await make_plan(client, auth.admin)
    item = {"plan_id": plan["id"], "order_id": str(uuid.uuid4()), "quota_name": "x", "quota": 1, "used": 1,
            "at": "2026-01-10T10:00:00Z"}
    assert_problem(await send(client, "PUT", f"{USAGE}/{uuid.uuid4()}", {"items": [item]}, auth.admin), 422,
                   "unknown_order", loc=["body", "items", 0, "order_id"])


async def test_put_usage_needs_a_token_and_a_writer_role(client, auth):
    assert_problem(await client.put(f"{USAGE}/{uuid.uuid4()}", json={"items": []}), 401, "not_authenticated")
    for role in ("RM", "SUPERVISOR", "FINANCE_ADMIN", "SUPPORT_AGENT", "PRODUCT_MANAGER", "CUSTOMER"):
        assert_problem(await client.put(f"{USAGE}/{uuid.uuid4()}", json={"items": []}, headers=auth.headers(role)),
                       403, "forbidden")


async def test_active_orders_for_lists_the_live_orders_at_a_time(client, auth, engine):
    premium = await make_plan(client, auth.admin, duration_days=30)
    owner = await make_plan(client, auth.admin, user_type="OWNER", duration_days=60)
    user = str(uuid.uuid4())
    live = payment(premium, user_id=user, paid_at="2026-01-01T00:00:00Z")
    refunded = payment(premium, user_id=user, paid_at="2026-01-02T00:00:00Z")
    partly = payment(owner, user_id=user, user_type="OWNER", paid_at="2026-01-03T00:00:00Z")
    expired = payment(owner, user_id=user, user_type="OWNER", paid_at="2026-01-04T00:00:00Z")
    refund_of = {"refund_id": None, "completed_at": "2026-01-05T00:00:00Z"}
    batch = [*(event("billing.payment.completed", p) for p in (live, refunded, partly, expired)),
             event("billing.refund.completed", {**refund_of, "refund_id": str(uuid.uuid4()),
                                                "order_id": refunded["order_id"], "amount": Decimal("1499.00")}),
             event("billing.refund.completed", {**refund_of, "refund_id": str(uuid.uuid4()),
                                                "order_id": partly["order_id"], "amount": Decimal("1.00")}),
             event("entitlements.plan.expired", {"user_id": user, "plan_id": owner["id"],
                                                 "order_id": expired["order_id"],
                                                 "expired_at": "2026-01-06T00:00:00Z"})]
    assert await statuses(client, auth, *batch) == ["PROCESSED"] * 7
    async with engine.connect() as conn:
        during = await orders_service.active_orders_for(conn, uuid.UUID(user), datetime(2026, 1, 20, tzinfo=UTC))
        later = await orders_service.active_orders_for(conn, uuid.UUID(user), datetime(2026, 2, 15, tzinfo=UTC))
        before = await orders_service.active_orders_for(conn, uuid.UUID(user), datetime(2025, 12, 31, tzinfo=UTC))
        mine = await orders_service.orders_of_user(conn, uuid.UUID(user))
        refunds = await orders_service.refunds_of_orders(conn, [o.order_id for o in mine])
    assert [(str(o.order_id), o.status) for o in during] == [(partly["order_id"], "PARTIALLY_REFUNDED"),
                                                             (live["order_id"], "ACTIVE")]
    assert [str(o.order_id) for o in later] == [partly["order_id"]] and before == []
    assert [str(o.order_id) for o in mine] == [expired["order_id"], partly["order_id"], refunded["order_id"],
                                               live["order_id"]]
    assert {str(k): [r.amount for r in v] for k, v in refunds.items()} == {
        refunded["order_id"]: [Decimal("1499.00")], partly["order_id"]: [Decimal("1.00")]}
