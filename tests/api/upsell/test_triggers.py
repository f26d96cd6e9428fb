"""Upsell triggers from consumed events and the upsell-expiry job (issue 11; UPR-002, UPR-003, US-SALE-001).
For each handler: first delivery, duplicate, out of order, bad payload."""
from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from sales.upsell.models import upsell_decisions, upsells
from tests.allocation_builders import advance, run_job
from tests.api.upsell.helpers import UPSELLS, create, decisions, respond, start
from tests.checks import audit_rows, count
from tests.commerce_builders import deliver, event, payment, statuses


def usage(plan, user, *, used, at, quota=5, quota_name="owner_contacts", **kw):  # type: ignore[no-untyped-def]
    return event("entitlements.usage.updated", {"user_id": user, "plan_id": plan["id"], "quota_name": quota_name,
                                                "quota": quota, "used": used, "at": at, **kw},
                 source="/mysqrft/entitlements")


def view(user, *, at="2026-01-10T09:00:00Z", contacted=False, **kw):  # type: ignore[no-untyped-def]
    return event("engagement.property.viewed", {"user_id": user, "property_id": str(uuid.uuid4()), "viewed_at": at,
                                                "contacted": contacted}, source="/mysqrft/engagement", **kw)


async def upsells_of(client, auth, user):  # type: ignore[no-untyped-def]
    r = await client.get(UPSELLS, params={"user_id": user}, headers=auth.headers("SERVICE"))
    assert r.status_code == 200, r.text
    return r.json()["items"]


# --- QUOTA_THRESHOLD (UPR-002) ----------------------------------------------------------------------

async def test_upr_002_exactly_80_percent_creates_one_quota_upsell_with_the_comparison(client, auth):
    plans = await start(client, auth)
    user = str(uuid.uuid4())
    assert await statuses(client, auth, usage(plans["basic"], user, used=3, at="2026-01-10T08:00:00Z")) == [
        "PROCESSED"]
    assert await upsells_of(client, auth, user) == []  # 60%
    first = usage(plans["basic"], user, used=4, at="2026-01-10T09:00:00Z")
    assert await statuses(client, auth, first, first) == ["PROCESSED", "DUPLICATE"]
    [upsell] = await upsells_of(client, auth, user)
    assert (upsell["trigger_event"], upsell["channel"], upsell["status"], upsell["user_type"],
            upsell["current_plan_id"], upsell["target_plan_id"]) == (
        "QUOTA_THRESHOLD", "IN_APP_MODAL", "PENDING", "TENANT", plans["basic"]["id"], plans["premium"]["id"])
    context = upsell["trigger_context"]
    assert (context["rule"], context["percent"], context["quota"], context["used"]) == ("UPR-002", "80.0", 5, 4)
    assert context["comparison"]["features"] == [{"name": "owner_contacts", "current": 5, "target": 25}]
    [decision] = await decisions(client, auth.headers("SERVICE"), user)
    assert (decision["outcome"], decision["trigger_event"]) == ("CREATED", "QUOTA_THRESHOLD")


async def test_upr_002_fires_once_per_user_and_cause_then_nothing_for_later_usage(client, auth, engine):
    plans = await start(client, auth)
    user = str(uuid.uuid4())
    assert await statuses(client, auth, usage(plans["basic"], user, used=4, at="2026-01-10T09:00:00Z"),
                          usage(plans["basic"], user, used=5, at="2026-01-10T09:05:00Z")) == ["PROCESSED"] * 2
    assert len(await upsells_of(client, auth, user)) == 1
    assert await count(engine, upsell_decisions) == 1  # the second event made no decision at all
    # Another quota is another cause.
    assert await statuses(client, auth, usage(plans["basic"], user, used=9, quota=10, quota_name="site_visits",
                                              at="2026-01-10T09:06:00Z")) == ["PROCESSED"]
    assert len(await upsells_of(client, auth, user)) == 1  # no plan raises site_visits


async def test_upr_002_an_older_measurement_arriving_late_triggers_nothing(client, auth):
    plans = await start(client, auth)
    user = str(uuid.uuid4())
    assert await statuses(client, auth, usage(plans["basic"], user, used=1, at="2026-01-10T09:30:00Z"),
                          usage(plans["basic"], user, used=4, at="2026-01-10T09:00:00Z")) == ["PROCESSED"] * 2
    assert await upsells_of(client, auth, user) == []


async def test_upr_002_usage_of_a_plan_no_longer_held_or_the_top_tier_triggers_nothing(client, auth):
    plans = await start(client, auth)
    user = str(uuid.uuid4())
    paid = payment(plans["prime"], user_id=user, paid_at="2026-01-09T10:00:00Z")
    assert await statuses(client, auth, event("billing.payment.completed", paid),
                          usage(plans["basic"], user, used=5, at="2026-01-10T09:00:00Z"),
                          usage(plans["prime"], user, used=60, quota=60, at="2026-01-10T09:00:00Z",
                                order_id=paid["order_id"])) == ["PROCESSED"] * 3
    assert await upsells_of(client, auth, user) == []


async def test_upr_002_gated_like_every_upsell_and_retried_by_a_later_event_after_suppression(client, auth):
    """UPR-006: an opted-out user gets no upsell; the suppressed decision is kept, the cause is not consumed."""
    plans = await start(client, auth)
    user, service = str(uuid.uuid4()), auth.headers("SERVICE")
    r = await client.put(f"/api/v1/sales/customers/{user}/preferences", headers=service,
                         json={"marketing_opt_out": True, "channels_opted_out": []})
    assert r.status_code == 201, r.text
    assert await statuses(client, auth, usage(plans["basic"], user, used=4, at="2026-01-10T09:00:00Z")) == [
        "PROCESSED"]
    [decision] = await decisions(client, service, user)
    assert decision["outcome"] == "SUPPRESSED"
    assert [x["rule"] for x in decision["rules"] if not x["passed"]] == ["UPR-006", "UPR-004"]
    await advance(client, auth.admin, 60)
    r = await client.put(f"/api/v1/sales/customers/{user}/preferences", headers=service,
                         json={"marketing_opt_out": False, "channels_opted_out": []})
    assert r.status_code == 200, r.text
    assert await statuses(client, auth, usage(plans["basic"], user, used=5, at="2026-01-10T09:40:00Z")) == [
        "PROCESSED"]
    assert [u["trigger_event"] for u in await upsells_of(client, auth, user)] == ["QUOTA_THRESHOLD"]


@pytest.mark.parametrize("overrides", [{"used": -1}, {"at": "2026-01-10T10:00:00"}, {"user_id": "me"}])
async def test_a_bad_usage_payload_is_parked_and_creates_nothing(client, auth, engine, overrides):
    plans = await start(client, auth)
    data = {"user_id": str(uuid.uuid4()), "plan_id": plans["basic"]["id"], "quota_name": "owner_contacts",
            "quota": 5, "used": 4, "at": "2026-01-10T09:00:00Z", **overrides}
    [outcome] = await deliver(client, auth, event("entitlements.usage.updated", data, valid=False,
                                                  source="/mysqrft/entitlements"))
    assert (outcome["status"], outcome["attempts"]) == ("PARKED", 1)
    assert await count(engine, upsells) == 0 and await count(engine, upsell_decisions) == 0


# --- VIEWS_WITHOUT_CONTACT (UPR-003) ------------------------------------------------------------------

async def test_upr_003_the_fifth_view_without_contact_creates_a_banner_once(client, auth):
    plans = await start(client, auth)
    user = str(uuid.uuid4())
    fifth = view(user, at="2026-01-10T09:05:00Z")
    assert await statuses(client, auth, *(view(user, at=f"2026-01-10T09:0{i}:00Z") for i in range(4))) == [
        "PROCESSED"] * 4
    assert await upsells_of(client, auth, user) == []
    assert await statuses(client, auth, fifth, fifth, view(user, at="2026-01-10T09:06:00Z")) == [
        "PROCESSED", "DUPLICATE", "PROCESSED"]
    [upsell] = await upsells_of(client, auth, user)
    assert (upsell["trigger_event"], upsell["channel"], upsell["user_type"], upsell["current_plan_id"],
            upsell["target_plan_id"]) == ("VIEWS_WITHOUT_CONTACT", "IN_APP_BANNER", "TENANT", None,
                                          plans["premium"]["id"])  # a user holding no plan is on the free tier
    assert upsell["trigger_context"] == {"rule": "UPR-003", "views_without_contact": 5, "threshold": 5,
                                         "since": None}


async def test_upr_003_a_contact_resets_the_count_and_an_out_of_order_old_view_counts_nothing(client, auth):
    plans = await start(client, auth)
    user = str(uuid.uuid4())
    await statuses(client, auth, *(view(user, at=f"2026-01-10T08:0{i}:00Z") for i in range(4)),
                   view(user, at="2026-01-10T08:30:00Z", contacted=True),
                   view(user, at="2026-01-10T07:00:00Z"))  # older than the contact: not counted
    assert await upsells_of(client, auth, user) == []
    paid = payment(plans["premium"], user_id=user, paid_at="2026-01-09T10:00:00Z")
    assert await statuses(client, auth, event("billing.payment.completed", paid),
                          *(view(user, at=f"2026-01-10T09:0{i}:00Z") for i in range(5))) == ["PROCESSED"] * 6
    [upsell] = await upsells_of(client, auth, user)
    assert (upsell["current_plan_id"], upsell["target_plan_id"]) == (plans["premium"]["id"], plans["prime"]["id"])


async def test_upr_003_counts_again_from_the_last_upsell(client, auth):
    await start(client, auth)
    user = str(uuid.uuid4())
    await statuses(client, auth, *(view(user, at=f"2026-01-10T09:0{i}:00Z") for i in range(5)))
    [first] = await upsells_of(client, auth, user)
    await advance(client, auth.admin, 3600)  # views after the upsell (created 10:00) count again
    assert await statuses(client, auth, *(view(user, at=f"2026-01-10T10:1{i}:00Z") for i in range(5))) == [
        "PROCESSED"] * 5
    second, _ = await upsells_of(client, auth, user)
    assert second["trigger_context"]["since"] == "2026-01-10T10:00:00Z" and second["id"] != first["id"]


async def test_a_bad_view_payload_is_parked_and_creates_nothing(client, auth, engine):
    await start(client, auth)
    [outcome] = await deliver(client, auth, event("engagement.property.viewed",
                                                  {"user_id": str(uuid.uuid4()), "viewed_at": "2026-01-10T09:00:00Z"},
                                                  valid=False, source="/mysqrft/engagement"))
    assert (outcome["status"], outcome["attempts"]) == ("PARKED", 1)
    assert await count(engine, upsell_decisions) == 0


# --- expiry ---------------------------------------------------------------------------------------

async def test_upsell_expiry_moves_open_offers_past_7_days_to_expired(client, auth, engine):
    plans = await start(client, auth)
    service = auth.headers("SERVICE")
    users = [str(uuid.uuid4()) for _ in range(3)]
    pending, presented, dismissed = [(await create(client, service, plans["premium"], u)).json() for u in users]
    await respond(client, service, presented["id"], "PRESENTED")
    await respond(client, service, dismissed["id"], "DISMISSED")
    await advance(client, auth.admin, 7 * 86400 - 1)
    assert (await run_job(client, auth.admin, "upsell-expiry"))["processed"] == 0
    await advance(client, auth.admin, 1)
    assert (await run_job(client, auth.admin, "upsell-expiry"))["processed"] == 2
    got = {u: (await client.get(f"{UPSELLS}/{x['id']}", headers=service)).json()["status"]
           for u, x in (("pending", pending), ("presented", presented), ("dismissed", dismissed))}
    assert got == {"pending": "EXPIRED", "presented": "EXPIRED", "dismissed": "DISMISSED"}
    assert len(await audit_rows(engine, action="upsell.expired")) == 2
    r = await respond(client, service, pending["id"], "CLICKED")
    assert (r.status_code, r.json()["code"]) == (409, "upsell_closed")
    assert (await run_job(client, auth.admin, "upsell-expiry"))["processed"] == 0


# --- PLAN_EXPIRED --------------------------------------------------------------------------------------

def expired(user, plan, order_id, **kw):  # type: ignore[no-untyped-def]
    return event("entitlements.plan.expired", {"user_id": user, "plan_id": plan["id"], "order_id": order_id,
                                               "expired_at": "2026-01-10T09:00:00Z"},
                 source="/mysqrft/entitlements", **kw)


async def test_plan_expired_offers_the_renewal_of_the_same_plan_once_per_order(client, auth):
    plans = await start(client, auth)
    user = str(uuid.uuid4())
    paid = payment(plans["premium"], user_id=user, paid_at="2025-11-01T10:00:00Z")
    first = expired(user, plans["premium"], paid["order_id"])
    assert await statuses(client, auth, event("billing.payment.completed", paid), first, first,
                          expired(user, plans["premium"], paid["order_id"])) == [
        "PROCESSED", "PROCESSED", "DUPLICATE", "PROCESSED"]
    [upsell] = await upsells_of(client, auth, user)
    assert (upsell["trigger_event"], upsell["channel"], upsell["target_plan_id"], upsell["current_plan_id"]) == (
        "PLAN_EXPIRED", "IN_APP_BANNER", plans["premium"]["id"], None)
    assert upsell["trigger_context"] == {"order_id": paid["order_id"], "expired_plan_id": plans["premium"]["id"],
                                         "expired_at": "2026-01-10T09:00:00Z"}


async def test_plan_expired_no_renewal_when_a_plan_as_high_is_held_or_the_order_was_refunded(client, auth):
    plans = await start(client, auth)
    user, other = str(uuid.uuid4()), str(uuid.uuid4())
    old = payment(plans["premium"], user_id=user, paid_at="2025-11-01T10:00:00Z")
    live = payment(plans["prime"], user_id=user, paid_at="2026-01-05T10:00:00Z")
    refunded = payment(plans["premium"], user_id=other, paid_at="2025-11-01T10:00:00Z")
    refund = {"refund_id": str(uuid.uuid4()), "order_id": refunded["order_id"], "amount": Decimal("1499.00"),
              "completed_at": "2025-11-02T10:00:00Z"}
    assert await statuses(client, auth, *(event("billing.payment.completed", p) for p in (old, live, refunded)),
                          event("billing.refund.completed", refund),
                          expired(user, plans["premium"], old["order_id"]),
                          expired(other, plans["premium"], refunded["order_id"])) == ["PROCESSED"] * 6
    assert await upsells_of(client, auth, user) == [] and await upsells_of(client, auth, other) == []


async def test_plan_expired_out_of_order_before_its_payment_is_retried_and_a_bad_payload_parked(
        client, auth, engine):
    plans = await start(client, auth)
    user = str(uuid.uuid4())
    paid = payment(plans["premium"], user_id=user, paid_at="2025-11-01T10:00:00Z")
    [outcome] = await deliver(client, auth, expired(user, plans["premium"], paid["order_id"]))
    assert outcome["status"] == "FAILED"  # the order is not known yet: retried (orders handler)
    assert await count(engine, upsells) == 0
    assert await statuses(client, auth, event("billing.payment.completed", paid)) == ["PROCESSED"]
    await advance(client, auth.admin, 3600)
    assert (await run_job(client, auth.admin, "inbox-retry"))["processed"] == 1
    [upsell] = await upsells_of(client, auth, user)
    assert upsell["trigger_event"] == "PLAN_EXPIRED"
    bad = {"user_id": user, "plan_id": plans["premium"]["id"], "order_id": "x", "expired_at": "2026-01-10T09:00:00Z"}
    [outcome] = await deliver(client, auth, event("entitlements.plan.expired", bad, valid=False,
                                                  source="/mysqrft/entitlements"))
    assert (outcome["status"], outcome["attempts"]) == ("PARKED", 1)
