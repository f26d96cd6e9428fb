"""GET /refunds (filters, cursor, scoping, SLA breaches) and GET /refunds/{id} with its timeline (issue 12;
PRD §7.2 Refund APIs, §8.5 RBI-style timeline)."""
from __future__ import annotations

import uuid
from decimal import Decimal

from tests.allocation_builders import set_clock
from tests.api.refunds.test_refund_requests_api import REFUNDS, body, bought
from tests.checks import assert_problem, exact_json
from tests.commerce_builders import send

STAFF = ("SUPPORT_AGENT", "SUPERVISOR", "SALES_ADMIN", "FINANCE_ADMIN")


async def three_refunds(client, auth):  # type: ignore[no-untyped-def]
    """One customer: PROCESSING (auto) and REJECTED (52% used); another: PENDING_APPROVAL."""
    first = await bought(client, auth)
    auto = (await send(client, "POST", REFUNDS, body(first, amount=Decimal("100.00")), first["customer"])).json()
    second = await bought(client, auth, used=13, user=first["user_id"], now="2026-01-07T12:00:00Z")
    rejected = (await send(client, "POST", REFUNDS, body(second), second["customer"])).json()
    other = await bought(client, auth, now="2026-01-07T13:00:00Z")
    pending = (await send(client, "POST", REFUNDS, body(other), other["customer"])).json()
    return first, other, {"auto": auto, "rejected": rejected, "pending": pending}


async def test_staff_list_every_refund_newest_first_with_filters_and_a_cursor(client, auth):
    first, other, made = await three_refunds(client, auth)
    for role in STAFF:
        response = await client.get(REFUNDS, headers=auth.headers(role))
        assert response.status_code == 200, response.text
        assert [r["id"] for r in exact_json(response)["items"]] == [made["pending"]["id"], made["rejected"]["id"],
                                                               made["auto"]["id"]]
    admin = auth.headers("SUPERVISOR")

    async def ids(**params):  # type: ignore[no-untyped-def]
        response = await client.get(REFUNDS, params=params, headers=admin)
        assert response.status_code == 200, response.text
        return [r["id"] for r in exact_json(response)["items"]]

    assert await ids(status="REJECTED") == [made["rejected"]["id"]]
    assert await ids(user_id=first["user_id"]) == [made["rejected"]["id"], made["auto"]["id"]]
    assert await ids(order_id=other["order_id"]) == [made["pending"]["id"]]
    assert await ids(type="REFUND", flagged="false") == [made["pending"]["id"], made["rejected"]["id"],
                                                         made["auto"]["id"]]
    assert await ids(type="GUARANTEE_CLAIM") == []
    assert await ids(flagged="true") == []
    assert await ids(**{"from": "2026-01-07T12:00:00Z", "to": "2026-01-07T13:00:00Z"}) == [made["rejected"]["id"]]
    page = (await client.get(REFUNDS, params={"limit": 2}, headers=admin)).json()
    assert [r["id"] for r in page["items"]] == [made["pending"]["id"], made["rejected"]["id"]]
    rest = (await client.get(REFUNDS, params={"limit": 2, "cursor": page["next_cursor"]}, headers=admin)).json()
    assert ([r["id"] for r in rest["items"]], rest["next_cursor"]) == ([made["auto"]["id"]], None)


async def test_a_customer_lists_and_reads_only_their_own_others_are_404(client, auth):
    first, other, made = await three_refunds(client, auth)
    mine = (await client.get(REFUNDS, headers=first["customer"])).json()
    assert [r["id"] for r in mine["items"]] == [made["rejected"]["id"], made["auto"]["id"]]
    # naming another customer filters within their own scope: nothing
    theirs = await client.get(REFUNDS, params={"user_id": other["user_id"]}, headers=first["customer"])
    assert theirs.json()["items"] == []
    assert_problem(await client.get(f"{REFUNDS}/{made['pending']['id']}", headers=first["customer"]), 404,
                   "refund_not_found")
    assert_problem(await client.get(f"{REFUNDS}/{uuid.uuid4()}", headers=auth.headers("SALES_ADMIN")), 404,
                   "refund_not_found")
    own = await client.get(f"{REFUNDS}/{made['auto']['id']}", headers=first["customer"])
    assert own.status_code == 200, own.text


async def test_reads_auth_and_bad_input(client, auth):
    _, _, made = await three_refunds(client, auth)
    for url in (REFUNDS, f"{REFUNDS}/{made['auto']['id']}"):
        assert_problem(await client.get(url), 401, "not_authenticated")
        for role in ("RM", "PRODUCT_MANAGER", "SERVICE"):
            assert_problem(await client.get(url, headers=auth.headers(role)), 403, "forbidden")
    for params, loc in [({"status": "NOPE"}, ["query", "status"]), ({"type": "X"}, ["query", "type"]),
                        ({"flagged": "maybe"}, ["query", "flagged"]), ({"from": "yesterday"}, ["query", "from"]),
                        ({"user_id": "x"}, ["query", "user_id"]), ({"cursor": "bad"}, ["query", "cursor"]),
                        ({"breached": "2"}, ["query", "breached"])]:
        assert_problem(await client.get(REFUNDS, params=params, headers=auth.headers("SALES_ADMIN")), 422,
                       "validation_error", loc=loc)
    assert_problem(await client.get(f"{REFUNDS}/nope", headers=auth.headers("SALES_ADMIN")), 422,
                   "validation_error", loc=["path", "refund_id"])


async def test_the_timeline_of_an_auto_approved_refund_names_each_step_its_time_and_actor(client, auth):
    """RBI-style timeline: requested, decision, sent to Billing (money returned: test_billing_completion)."""
    first, _, made = await three_refunds(client, auth)
    got = exact_json(await client.get(f"{REFUNDS}/{made['auto']['id']}", headers=first["customer"]))
    assert got["timeline"] == [
        {"kind": "REQUESTED", "status": "REQUESTED", "at": "2026-01-07T11:00:00Z", "actor_id": first["user_id"],
         "actor_role": "CUSTOMER", "note": "Owners did not respond", "data": {"requested_amount": Decimal("100.00")}},
        {"kind": "AUTO_APPROVED", "status": "AUTO_APPROVED", "at": "2026-01-07T11:00:00Z", "actor_id": None,
         "actor_role": "SYSTEM", "note": "RFR-003: approved automatically", "data": {"amount": Decimal("100.00")}},
        {"kind": "SENT_TO_BILLING", "status": "PROCESSING", "at": "2026-01-07T11:00:00Z", "actor_id": None,
         "actor_role": "SYSTEM", "note": None, "data": {"amount": Decimal("100.00")}}]
    rejected = (await client.get(f"{REFUNDS}/{made['rejected']['id']}", headers=first["customer"])).json()
    assert [(s["kind"], s["actor_role"], s["note"]) for s in rejected["timeline"]] == [
        ("REQUESTED", "CUSTOMER", "Owners did not respond"), ("REJECTED", "SYSTEM", "not eligible: RFR-002")]


async def test_sla_breaches_are_listed_for_managers(client, auth):
    """Refund SLA (default 7 days from the request): still open past expected_resolution_by is breached; one
    resolved in time never is."""
    _, _, made = await three_refunds(client, auth)
    admin = auth.headers("SUPERVISOR")
    breached = await client.get(REFUNDS, params={"breached": "true"}, headers=admin)
    assert breached.json()["items"] == []
    # 7 days after the first request (auto-approved, PROCESSING: the money is not back), to the second: not
    # yet breached; one second later it is
    await set_clock(client, auth.admin, "2026-01-14T11:00:00Z")
    assert (await client.get(REFUNDS, params={"breached": "true"}, headers=admin)).json()["items"] == []
    await set_clock(client, auth.admin, "2026-01-14T11:00:01Z")
    items = (await client.get(REFUNDS, params={"breached": "true"}, headers=admin)).json()["items"]
    assert [(r["id"], r["sla_breached"]) for r in items] == [(made["auto"]["id"], True)]
    await set_clock(client, auth.admin, "2026-01-14T13:00:01Z")
    items = (await client.get(REFUNDS, params={"breached": "true"}, headers=admin)).json()["items"]
    assert [r["id"] for r in items] == [made["pending"]["id"], made["auto"]["id"]]
    # the rejected one was resolved at once: never breached
    on_time = (await client.get(REFUNDS, params={"breached": "false"}, headers=admin)).json()["items"]
    assert [(r["id"], r["sla_breached"]) for r in on_time] == [(made["rejected"]["id"], False)]


async def test_the_refund_sla_is_a_setting(client, auth, app):
    """SALES_REFUND_SLA_DAYS (default 7): the expected resolution of eligibility answers and requests."""
    settings = app.state.settings
    app.state.settings = settings.model_copy(update={"refund_sla_days": 3})
    try:
        order = await bought(client, auth)
        answer = await client.get(f"{REFUNDS}/eligibility/{order['order_id']}", headers=order["customer"])
        assert answer.json()["expected_resolution_by"] == "2026-01-10T11:00:00Z"
        made = await send(client, "POST", REFUNDS, body(order), order["customer"])
        assert made.json()["expected_resolution_by"] == "2026-01-10T11:00:00Z"
    finally:
        app.state.settings = settings
