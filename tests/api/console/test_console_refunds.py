"""The console's refund investigation (issue 12): a SUPPORT_AGENT sees the waiting refunds and one refund with
its rules, timeline, order and payment, notifications sent and evidence on one page, and approves or rejects it
through the API's use cases."""
from __future__ import annotations

from decimal import Decimal

import pytest

from sales.refunds.models import refunds
from tests.api.console.test_console_auth import _csrf, _sign_in, _user
from tests.api.console.test_console_upsells import assert_csp_clean
from tests.api.refunds.test_refund_requests_api import REFUNDS, body, bought
from tests.builders import make_rm, make_team
from tests.checks import events, fetch
from tests.commerce_builders import send


async def waiting_refund(client, auth, price="1499.00"):  # type: ignore[no-untyped-def]
    order = await bought(client, auth, price=price)
    response = await send(client, "POST", REFUNDS, body(order), order["customer"])
    assert response.status_code == 201, response.text
    return order, response.json()


@pytest.mark.parametrize("role,status", [("SUPPORT_AGENT", 200), ("SUPERVISOR", 200), ("SALES_ADMIN", 200),
                                         ("RM", 403), ("FINANCE_ADMIN", 403), ("PRODUCT_MANAGER", 403)])
async def test_who_sees_the_refund_pages(client, auth, engine, role, status):
    _, refund = await waiting_refund(client, auth)
    rm = None
    if role in ("RM", "SUPERVISOR"):
        team = await make_team(client, auth.admin)
        rm = await make_rm(client, auth.admin, team_id=team["id"])
    await _sign_in(client, await _user(engine, role=role, rm_id=rm["id"] if role == "RM" else None,
                                       teams=[rm["team_id"]] if role == "SUPERVISOR" else None))
    for url in ("/console/refunds", f"/console/refunds/{refund['id']}"):
        page = await client.get(url)
        assert page.status_code == status, page.text
        if status == 200:
            assert_csp_clean(page.text)


async def test_an_agent_investigates_and_approves(client, auth, engine):
    order, refund = await waiting_refund(client, auth)
    await _sign_in(client, await _user(engine, role="SUPPORT_AGENT"))
    listing = await client.get("/console/refunds")
    assert f'/console/refunds/{refund["id"]}' in listing.text and "Pending approval" in listing.text
    page = await client.get(f"/console/refunds/{refund['id']}")
    assert page.status_code == 200
    for shown in ("RFR-001 passed", "RFR-002 passed", "RFR-006 passed", "Awaiting decision", order["order_id"],
                  "₹1,499.00", "Customer context", "owner contacts", "Nothing sent yet."):
        assert shown.lower() in page.text.lower(), shown
    # a rejection needs a reason: shown inline, nothing changes
    bad = await client.post(f"/console/refunds/{refund['id']}/decide",
                            data={"csrf_token": _csrf(page.text), "decision": "reject", "reason": " "})
    assert bad.status_code == 422 and 'id="decide-error"' in bad.text
    # above the refundable amount: inline, what was typed kept
    bad = await client.post(f"/console/refunds/{refund['id']}/decide",
                            data={"csrf_token": _csrf(page.text), "decision": "approve", "amount": "1399.08"})
    assert bad.status_code == 422 and 'value="1399.08"' in bad.text and "refundable amount" in bad.text
    done = await client.post(f"/console/refunds/{refund['id']}/decide", follow_redirects=False,
                             data={"csrf_token": _csrf(page.text), "decision": "approve", "amount": "1000.00",
                                   "reason": "owners silent"})
    assert done.status_code == 303, done.text
    [row] = await fetch(engine, refunds)
    assert (row.status, row.amount, row.decision_reason) == ("PROCESSING", Decimal("1000.00"), "owners silent")
    assert len(await events(engine, type="sales.refund.requested")) == 1
    after = await client.get(done.headers["location"])
    assert "Refund approved; the customer is told." in after.text
    assert "Sent to billing" in after.text and "PROCESSING".capitalize() in after.text


async def test_an_agent_cannot_decide_a_managers_refund_and_without_a_token_nothing_happens(client, auth, engine):
    _, refund = await waiting_refund(client, auth, price="9999.00")  # PENDING_MANAGER_APPROVAL
    await _sign_in(client, await _user(engine, role="SUPPORT_AGENT"))
    page = await client.get(f"/console/refunds/{refund['id']}")
    refused = await client.post(f"/console/refunds/{refund['id']}/decide",
                                data={"csrf_token": _csrf(page.text), "decision": "approve"})
    assert refused.status_code == 403 and "manager" in refused.text
    forged = await client.post(f"/console/refunds/{refund['id']}/decide", data={"decision": "reject",
                                                                                "reason": "x"})
    assert forged.status_code in (400, 403)
    assert [r.status for r in await fetch(engine, refunds)] == ["PENDING_MANAGER_APPROVAL"]
