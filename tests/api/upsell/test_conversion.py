"""Conversion from billing.payment.completed naming the upsell (issue 11: conversion only from money;
sales.upsell.converted {upsell_id, user_id, revenue}). First delivery, duplicate, out of order, bad payload."""
from __future__ import annotations

import uuid
from decimal import Decimal

from sales.orders.models import orders
from tests.allocation_builders import advance, run_job
from tests.api.upsell.helpers import UPSELLS, create, respond, start
from tests.checks import audit_rows, count, events
from tests.commerce_builders import deliver, event, payment, statuses
from tests.events_schema import assert_valid


async def get(client, auth, upsell_id):  # type: ignore[no-untyped-def]
    return (await client.get(f"{UPSELLS}/{upsell_id}", headers=auth.headers("SERVICE"))).json()


async def test_a_payment_naming_the_upsell_converts_it_once_with_the_amount_paid(client, auth, engine):
    plans = await start(client, auth)
    user = str(uuid.uuid4())
    upsell = (await create(client, auth.headers("SERVICE"), plans["premium"], user)).json()
    await respond(client, auth.headers("SERVICE"), upsell["id"], "PRESENTED")
    paid = payment(plans["premium"], user_id=user, upsell_id=upsell["id"], amount=Decimal("1349.10"),
                   paid_at="2026-01-10T15:30:00+05:30")
    first = event("billing.payment.completed", paid)
    assert await statuses(client, auth, first, first) == ["PROCESSED", "DUPLICATE"]
    got = await get(client, auth, upsell["id"])
    assert (got["status"], got["converted_at"], got["conversion_value"]) == (
        "CONVERTED", "2026-01-10T10:00:00Z", 1349.10)
    [converted] = await events(engine, type="sales.upsell.converted")
    assert_valid(converted.envelope)
    data = converted.envelope["data"]
    assert (data["upsell_id"], data["user_id"], data["revenue"], data["payment_id"]) == (
        upsell["id"], user, Decimal("1349.10"), paid["payment_id"])
    [activation] = await events(engine, type="sales.plan.activation_requested")
    assert_valid(activation.envelope)
    assert activation.envelope["data"] == {"upsell_id": upsell["id"], "user_id": user,
                                           "plan_id": plans["premium"]["id"], "order_id": paid["order_id"],
                                           "payment_id": paid["payment_id"]}
    [notice] = await events(engine, type="sales.notification.requested")
    assert_valid(notice.envelope)
    assert (notice.envelope["data"]["template"], notice.envelope["data"]["transactional"],
            notice.envelope["data"]["recipient"], notice.envelope["data"]["data"]["amount"]) == (
        "upsell_converted", True, {"type": "CUSTOMER", "id": user}, "1349.10")
    raw = (await client.get(f"{UPSELLS}/{upsell['id']}", headers=auth.headers("SERVICE"))).text
    assert '"conversion_value":1349.10' in raw  # exact decimal on the wire
    # A second payment naming it (another order) changes nothing.
    again = payment(plans["premium"], user_id=user, upsell_id=upsell["id"], amount=Decimal("1499.00"))
    assert await statuses(client, auth, event("billing.payment.completed", again)) == ["PROCESSED"]
    assert (await get(client, auth, upsell["id"]))["conversion_value"] == 1349.10
    assert len(await events(engine, type="sales.upsell.converted")) == 1
    assert len(await events(engine, type="sales.plan.activation_requested")) == 1
    assert len(await audit_rows(engine, action="upsell.converted")) == 1
    r = await respond(client, auth.headers("SERVICE"), upsell["id"], "DISMISSED")
    assert (r.status_code, r.json()["code"]) == (409, "upsell_closed")


async def test_an_expired_offer_paid_for_still_converts_and_another_users_payment_does_not(client, auth):
    plans = await start(client, auth)
    user = str(uuid.uuid4())
    upsell = (await create(client, auth.headers("SERVICE"), plans["premium"], user)).json()
    other = payment(plans["premium"], user_id=str(uuid.uuid4()), upsell_id=upsell["id"])
    assert await statuses(client, auth, event("billing.payment.completed", other)) == ["PROCESSED"]
    assert (await get(client, auth, upsell["id"]))["status"] == "PENDING"
    await advance(client, auth.admin, 7 * 86400)
    assert (await run_job(client, auth.admin, "upsell-expiry"))["processed"] == 1
    paid = payment(plans["premium"], user_id=user, upsell_id=upsell["id"])
    assert await statuses(client, auth, event("billing.payment.completed", paid)) == ["PROCESSED"]
    got = await get(client, auth, upsell["id"])
    assert (got["status"], got["conversion_value"]) == ("CONVERTED", 1499.00)


async def test_a_payment_naming_an_upsell_sales_never_made_records_the_order_and_converts_nothing(
        client, auth, engine):
    """Upsells are Sales' own records: an unknown id cannot arrive later, so the order does not wait for it."""
    plans = await start(client, auth)
    user, upsell_id = str(uuid.uuid4()), str(uuid.uuid4())
    paid = payment(plans["premium"], user_id=user, upsell_id=upsell_id)
    assert await statuses(client, auth, event("billing.payment.completed", paid)) == ["PROCESSED"]
    assert await count(engine, orders) == 1
    assert await events(engine, type="sales.upsell.converted") == []


async def test_an_unnamed_payment_for_another_plan_converts_nothing_and_a_bad_payload_is_parked(client, auth, engine):
    plans = await start(client, auth)
    user = str(uuid.uuid4())
    upsell = (await create(client, auth.headers("SERVICE"), plans["premium"], user)).json()
    assert await statuses(client, auth, event("billing.payment.completed",
                                              payment(plans["prime"], user_id=user))) == ["PROCESSED"]
    assert (await get(client, auth, upsell["id"]))["status"] == "PENDING"  # another plan than recommended
    bad = {**payment(plans["premium"], user_id=user), "upsell_id": "not-an-id"}
    [outcome] = await deliver(client, auth, event("billing.payment.completed", bad, valid=False))
    assert (outcome["status"], outcome["attempts"]) == ("PARKED", 1)
    assert (await get(client, auth, upsell["id"]))["status"] == "PENDING"
    assert await events(engine, type="sales.upsell.converted") == []


# --- attribution of an unnamed payment (issue 11: first payment for the recommended plan within 7 days) ---

async def test_an_unnamed_first_payment_for_the_recommended_plan_within_7_days_converts_the_upsell(
        client, auth, engine):
    plans = await start(client, auth)  # upsell created 2026-01-10T10:00Z
    user = str(uuid.uuid4())
    upsell = (await create(client, auth.headers("SERVICE"), plans["premium"], user)).json()
    first = payment(plans["premium"], user_id=user, paid_at="2026-01-17T09:59:59Z")  # 7 days minus a second
    later = payment(plans["premium"], user_id=user, paid_at="2026-01-17T09:59:59.5Z", amount=Decimal("10.00"))
    assert await statuses(client, auth, event("billing.payment.completed", first),
                          event("billing.payment.completed", later)) == ["PROCESSED"] * 2
    got = await get(client, auth, upsell["id"])
    assert (got["status"], got["converted_at"], got["conversion_value"]) == (
        "CONVERTED", "2026-01-17T09:59:59Z", 1499.00)
    [converted] = await events(engine, type="sales.upsell.converted")
    assert_valid(converted.envelope)
    assert (converted.envelope["data"]["attribution"], converted.envelope["data"]["revenue"]) == (
        "WINDOW", Decimal("1499.00"))


async def test_an_unnamed_payment_exactly_7_days_after_the_upsell_is_outside_the_window(client, auth, engine):
    plans = await start(client, auth)
    user = str(uuid.uuid4())
    upsell = (await create(client, auth.headers("SERVICE"), plans["premium"], user)).json()
    late = payment(plans["premium"], user_id=user, paid_at="2026-01-17T10:00:00Z")
    assert await statuses(client, auth, event("billing.payment.completed", late)) == ["PROCESSED"]
    assert (await get(client, auth, upsell["id"]))["status"] == "PENDING"
    assert await events(engine, type="sales.upsell.converted") == []


async def test_an_unnamed_payment_that_is_not_the_first_for_the_plan_in_the_window_converts_nothing(
        client, auth, engine):
    """Out of order: the earlier payment for the plan is recorded first (named to no upsell, another user's id),
    so the later one is not the first in the window."""
    plans = await start(client, auth)
    user = str(uuid.uuid4())
    upsell = (await create(client, auth.headers("SERVICE"), plans["premium"], user)).json()
    earlier = payment(plans["premium"], user_id=user, paid_at="2026-01-11T10:00:00Z", upsell_id=str(uuid.uuid4()))
    second = payment(plans["premium"], user_id=user, paid_at="2026-01-12T10:00:00Z")
    assert await statuses(client, auth, event("billing.payment.completed", earlier),
                          event("billing.payment.completed", second)) == ["PROCESSED"] * 2
    assert (await get(client, auth, upsell["id"]))["status"] == "PENDING"
