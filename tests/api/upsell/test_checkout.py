"""POST /upsells/{id}/checkout (issue 11; US-SALE-001 one-click upgrade): sales.payment.requested once per upsell,
then the payment naming the upsell converts it."""
from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

from tests.api.upsell.helpers import UPSELLS, create, respond, start
from tests.checks import assert_problem, events
from tests.commerce_builders import event, payment, statuses
from tests.events_schema import assert_valid


def url(upsell):  # type: ignore[no-untyped-def]
    return f"{UPSELLS}/{upsell['id']}/checkout"


async def test_checkout_requests_the_payment_once_and_the_named_payment_converts(client, auth, engine):
    plans = await start(client, auth)
    user = str(uuid.uuid4())
    upsell = (await create(client, auth.headers("SERVICE"), plans["premium"], user)).json()
    customer = auth.headers("CUSTOMER", sub=uuid.UUID(user))
    first = await client.post(url(upsell), headers=customer)
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["upsell_id"], body["user_id"], body["plan_id"], body["requested_at"]) == (
        upsell["id"], user, plans["premium"]["id"], "2026-01-10T10:00:00Z")
    assert '"amount":1499.00' in first.text
    again = await client.post(url(upsell), headers=customer)
    assert (again.status_code, again.json()) == (200, body)
    [requested] = await events(engine, type="sales.payment.requested")
    assert_valid(requested.envelope)
    assert requested.envelope["data"]["payment_request_id"] == body["payment_request_id"]
    assert requested.envelope["data"]["amount"] == Decimal("1499.00")
    paid = payment(plans["premium"], user_id=user, upsell_id=upsell["id"])
    assert await statuses(client, auth, event("billing.payment.completed", paid)) == ["PROCESSED"]
    got = (await client.get(f"{UPSELLS}/{upsell['id']}", headers=customer)).json()
    assert got["status"] == "CONVERTED"
    assert (await client.post(url(upsell), headers=customer)).status_code == 200  # still the same request


async def test_concurrent_checkouts_make_one_request(client, auth, engine):
    plans = await start(client, auth)
    user = str(uuid.uuid4())
    upsell = (await create(client, auth.headers("SERVICE"), plans["premium"], user)).json()
    customer = auth.headers("CUSTOMER", sub=uuid.UUID(user))
    responses = await asyncio.gather(*(client.post(url(upsell), headers=customer) for _ in range(6)))
    assert sorted(r.status_code for r in responses) == [200] * 5 + [201], [r.text for r in responses]
    assert len({r.json()["payment_request_id"] for r in responses}) == 1
    assert len(await events(engine, type="sales.payment.requested")) == 1


async def test_checkout_of_a_closed_upsell_is_409_and_scoping(client, auth):
    plans = await start(client, auth)
    user = str(uuid.uuid4())
    upsell = (await create(client, auth.headers("SERVICE"), plans["premium"], user)).json()
    customer = auth.headers("CUSTOMER", sub=uuid.UUID(user))
    assert_problem(await client.post(url(upsell)), 401, "not_authenticated")
    for role in ("SERVICE", "SALES_ADMIN", "RM"):
        assert_problem(await client.post(url(upsell), headers=auth.headers(role)), 403, "forbidden")
    assert_problem(await client.post(url(upsell), headers=auth.headers("CUSTOMER")), 404, "upsell_not_found")
    assert_problem(await client.post(f"{UPSELLS}/{uuid.uuid4()}/checkout", headers=customer), 404,
                   "upsell_not_found")
    assert_problem(await client.post(f"{UPSELLS}/x/checkout", headers=customer), 422, "validation_error")
    assert (await respond(client, customer, upsell["id"], "DISMISSED")).status_code == 200
    assert_problem(await client.post(url(upsell), headers=customer), 409, "upsell_closed")
