"""GET /upsells, GET /upsells/{id}, PATCH /upsells/{id}/response (issue 11; PRD §7.2, §3.2.2 statuses)."""
from __future__ import annotations

import uuid

import pytest

from tests.api.upsell.helpers import UPSELLS, create, decisions, respond, start
from tests.checks import assert_problem, audit_rows, events
from tests.events_schema import assert_valid
from tests.allocation_builders import advance


async def two_users(client, auth):  # type: ignore[no-untyped-def]
    plans = await start(client, auth)
    service = auth.headers("SERVICE")
    alice, bob = str(uuid.uuid4()), str(uuid.uuid4())
    a1 = (await create(client, service, plans["premium"], alice, trigger_event="QUOTA_THRESHOLD")).json()
    await advance(client, auth.admin, 60)
    a2 = (await create(client, service, plans["prime"], alice, channel="EMAIL", experiment_variant="B")).json()
    b1 = (await create(client, service, plans["premium"], bob)).json()
    return plans, alice, bob, a1, a2, b1


async def test_list_filters_and_cursor(client, auth):
    _, alice, bob, a1, a2, b1 = await two_users(client, auth)
    pm = auth.headers("PRODUCT_MANAGER")

    async def ids(**params):  # type: ignore[no-untyped-def]
        r = await client.get(UPSELLS, params=params, headers=pm)
        assert r.status_code == 200, r.text
        return [u["id"] for u in r.json()["items"]]

    assert await ids(user_id=alice) == [a2["id"], a1["id"]]
    assert await ids(channel="EMAIL") == [a2["id"]]
    assert await ids(trigger_event="QUOTA_THRESHOLD") == [a1["id"]]
    assert await ids(experiment_variant="B") == [a2["id"]]
    assert await ids(status="PENDING", created_from="2026-01-10T10:00:30Z") == [b1["id"], a2["id"]] or \
        await ids(status="PENDING", created_from="2026-01-10T10:00:30Z") == [a2["id"], b1["id"]]
    assert await ids(created_to="2026-01-10T10:00:30Z") == [a1["id"]]
    first = await client.get(UPSELLS, params={"limit": 2}, headers=pm)
    page = first.json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = await client.get(UPSELLS, params={"limit": 2, "cursor": page["next_cursor"]}, headers=pm)
    assert {u["id"] for u in page["items"] + rest.json()["items"]} == {a1["id"], a2["id"], b1["id"]}
    assert_problem(await client.get(UPSELLS, params={"cursor": "bm90LWEtbGlzdA"}, headers=pm), 422,
                   "validation_error")
    assert_problem(await client.get(UPSELLS, params={"created_from": "2026-01-10T10:00:00"}, headers=pm), 422,
                   "validation_error")


async def test_customer_sees_only_their_own_and_anything_else_is_404(client, auth):
    _, alice, bob, a1, a2, b1 = await two_users(client, auth)
    customer = auth.headers("CUSTOMER", sub=uuid.UUID(alice))
    r = await client.get(UPSELLS, headers=customer)
    assert {u["id"] for u in r.json()["items"]} == {a1["id"], a2["id"]}
    assert (await client.get(UPSELLS, params={"user_id": bob}, headers=customer)).json()["items"] == []
    assert (await client.get(f"{UPSELLS}/{a1['id']}", headers=customer)).status_code == 200
    assert_problem(await client.get(f"{UPSELLS}/{b1['id']}", headers=customer), 404, "upsell_not_found")
    assert_problem(await respond(client, customer, b1["id"], "PRESENTED"), 404, "upsell_not_found")
    assert len(await decisions(client, customer, alice)) == 2
    assert_problem(await client.get(f"{UPSELLS}/decisions", params={"user_id": bob}, headers=customer), 404,
                   "customer_not_found")


async def test_reads_401_403_404_422(client, auth):
    assert_problem(await client.get(UPSELLS), 401, "not_authenticated")
    assert_problem(await client.get(UPSELLS, headers=auth.headers("FINANCE_ADMIN")), 403, "forbidden")
    assert_problem(await client.get(f"{UPSELLS}/{uuid.uuid4()}", headers=auth.headers("SERVICE")), 404,
                   "upsell_not_found")
    assert_problem(await client.get(f"{UPSELLS}/not-a-uuid", headers=auth.headers("SERVICE")), 422,
                   "validation_error")
    assert_problem(await client.get(UPSELLS, params={"status": "WON"}, headers=auth.headers("SERVICE")), 422,
                   "validation_error")
    assert_problem(await client.get(f"{UPSELLS}/decisions", headers=auth.headers("SERVICE")), 422,
                   "validation_error")


async def test_presented_then_clicked_then_dismissed_forward_only_and_presented_emits_the_event(
        client, auth, engine):
    _, alice, _, a1, _, _ = await two_users(client, auth)
    customer = auth.headers("CUSTOMER", sub=uuid.UUID(alice))
    assert_problem(await respond(client, customer, a1["id"], "CLICKED"), 409, "invalid_response")
    r = await respond(client, customer, a1["id"], "PRESENTED")
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["response"], r.json()["presented_at"]) == (
        "PRESENTED", "PRESENTED", "2026-01-10T10:01:00Z")
    assert_problem(await respond(client, customer, a1["id"], "PRESENTED"), 409, "invalid_response")
    [presented] = await events(engine, type="sales.upsell.presented")
    assert_valid(presented.envelope)
    assert presented.envelope["data"]["upsell_id"] == a1["id"]
    assert presented.envelope["data"]["plan_id"] == a1["target_plan_id"]
    await advance(client, auth.admin, 30)
    r = await respond(client, auth.headers("SERVICE"), a1["id"], "CLICKED")
    assert (r.json()["status"], r.json()["clicked_at"]) == ("CLICKED", "2026-01-10T10:01:30Z")
    r = await respond(client, customer, a1["id"], "DISMISSED")
    assert (r.json()["status"], r.json()["dismissed_at"]) == ("DISMISSED", "2026-01-10T10:01:30Z")
    assert_problem(await respond(client, customer, a1["id"], "PRESENTED"), 409, "upsell_closed")
    assert [a.action for a in await audit_rows(engine, entity_type="upsell")][-3:] == [
        "upsell.presented", "upsell.clicked", "upsell.dismissed"]


@pytest.mark.parametrize("bad", [{"response": "CONVERTED"}, {"response": "maybe"}, {}, {"response": "PRESENTED",
                                                                                       "x": 1}])
async def test_response_that_is_not_a_prd_response_is_422(client, auth, bad):
    _, alice, _, a1, _, _ = await two_users(client, auth)
    r = await client.patch(f"{UPSELLS}/{a1['id']}/response", json=bad,
                           headers=auth.headers("CUSTOMER", sub=uuid.UUID(alice)))
    assert_problem(r, 422, "validation_error")


async def test_response_401_403(client, auth):
    _, _, _, a1, _, _ = await two_users(client, auth)
    assert_problem(await client.patch(f"{UPSELLS}/{a1['id']}/response", json={"response": "PRESENTED"}), 401,
                   "not_authenticated")
    for role in ("SALES_ADMIN", "PRODUCT_MANAGER", "RM"):
        assert_problem(await respond(client, auth.headers(role), a1["id"], "PRESENTED"), 403, "forbidden")


async def test_rm_reads_the_upsells_and_decisions_of_customers_they_work_with_only(client, auth, engine):
    """The RM sees why an automated upsell was suppressed (stage rule) for the customer of their pipeline."""
    from tests.api.upsell.test_create import rm_with_customer

    plans = await start(client, auth)
    rm, customer = await rm_with_customer(client, auth, engine, "NEGOTIATION")
    other_rm, _ = await rm_with_customer(client, auth, engine)
    service = auth.headers("SERVICE")
    assert (await create(client, service, plans["premium"], customer)).status_code == 409
    mine = (await create(client, auth.rm(uuid.UUID(rm["id"])), plans["premium"], customer,
                         channel="RM_CALL")).json()
    headers = auth.rm(uuid.UUID(rm["id"]))
    by_outcome = {d["outcome"]: d for d in await decisions(client, headers, customer)}
    suppressed, created = by_outcome["SUPPRESSED"], by_outcome["CREATED"]
    assert (suppressed["outcome"], [x["rule"] for x in suppressed["rules"] if not x["passed"]]) == (
        "SUPPRESSED", ["STAGE"])
    assert created["upsell_id"] == mine["id"]
    stage = next(x for x in suppressed["rules"] if x["rule"] == "STAGE")
    assert stage["figures"]["suppressing_stages"] == ["NEGOTIATION"]
    listed = await client.get(UPSELLS, params={"user_id": customer}, headers=headers)
    assert [u["id"] for u in listed.json()["items"]] == [mine["id"]]
    assert (await client.get(f"{UPSELLS}/{mine['id']}", headers=headers)).status_code == 200
    assert (await client.get(f"{UPSELLS}/recommendations/{customer}", headers=headers)).status_code == 200
    assert (await client.get(UPSELLS, headers=headers)).json()["items"] == []  # no customer named: nothing
    stranger = auth.rm(uuid.UUID(other_rm["id"]))
    assert (await client.get(UPSELLS, params={"user_id": customer}, headers=stranger)).json()["items"] == []
    assert_problem(await client.get(f"{UPSELLS}/{mine['id']}", headers=stranger), 404, "upsell_not_found")
    assert_problem(await client.get(f"{UPSELLS}/decisions", params={"user_id": customer}, headers=stranger), 404,
                   "customer_not_found")
    assert_problem(await client.get(f"{UPSELLS}/recommendations/{customer}", headers=stranger), 404,
                   "customer_not_found")
