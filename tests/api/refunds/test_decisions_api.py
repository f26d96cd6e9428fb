"""POST /refunds/{id}/approve and /reject (issue 12; PRD §6.4 RFR-003/004/005, §7.2): who may decide what, the
amount's bounds, the manager's policy exception, and concurrent decisions."""
from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import pytest

from sales.notifications.models import notifications
from sales.orders.models import orders
from sales.refunds.models import refunds
from tests.api.refunds.test_refund_requests_api import REFUNDS, body, bought
from tests.checks import assert_problem, exact_json, audit_rows, count, events, fetch
from tests.commerce_builders import send


async def requested(client, auth, *, price="1499.00", amount=None, used=12, user=None):  # type: ignore[no-untyped-def]
    order = await bought(client, auth, price=price, used=used, user=user)
    extra = {} if amount is None else {"amount": Decimal(amount)}
    response = await send(client, "POST", REFUNDS, body(order, **extra), order["customer"])
    assert response.status_code == 201, response.text
    return order, exact_json(response)


def approve(refund, **payload):  # type: ignore[no-untyped-def]
    return f"{REFUNDS}/{refund['id']}/approve", payload


async def test_rfr_004_a_support_agent_approves_from_rs_500_to_5000_processing_with_the_event(client, auth, engine):
    order, refund = await requested(client, auth)  # 1399.07 refundable, asked for all: PENDING_APPROVAL
    agent = uuid.uuid4()
    response = await send(client, "POST", f"{REFUNDS}/{refund['id']}/approve", {"reason": "owners silent"},
                          auth.headers("SUPPORT_AGENT", sub=agent))
    assert response.status_code == 200, response.text
    got = exact_json(response)
    assert '"amount":1399.07' in response.text
    assert (got["status"], got["decided_by"], got["decision_reason"], got["policy_exception"],
            got["decided_at"]) == ("PROCESSING", str(agent), "owners silent", False, "2026-01-07T11:00:00Z")
    assert [(s["kind"], s["status"], s["actor_role"]) for s in got["timeline"]] == [
        ("REQUESTED", "REQUESTED", "CUSTOMER"), ("AWAITING_DECISION", "PENDING_APPROVAL", "SYSTEM"),
        ("APPROVED", "APPROVED", "SUPPORT_AGENT"), ("SENT_TO_BILLING", "PROCESSING", "SYSTEM")]
    [event] = await events(engine, type="sales.refund.requested")
    assert event.envelope["data"] == {"refund_id": refund["id"], "order_id": order["order_id"],
                                      "amount": Decimal("1399.07")}
    assert [a.action for a in await audit_rows(engine, entity_type="refund")] == ["refund.requested",
                                                                                  "refund.approved"]
    [note] = await fetch(engine, notifications, notifications.c.template == "refund_approved")
    assert (note.recipient_id, note.data["amount"]) == (uuid.UUID(order["user_id"]), "1399.07")
    # decided: a second approval is 409, nothing more sent
    assert_problem(await send(client, "POST", f"{REFUNDS}/{refund['id']}/approve", {},
                              auth.headers("SALES_ADMIN")), 409, "refund_not_pending")
    assert len(await events(engine, type="sales.refund.requested")) == 1


async def test_rfr_004_above_rs_5000_a_support_agent_is_403_a_manager_approves_a_lower_amount(client, auth, engine):
    _, refund = await requested(client, auth, price="9999.00")  # 9332.40: PENDING_MANAGER_APPROVAL
    assert refund["status"] == "PENDING_MANAGER_APPROVAL"
    for role in ("SUPPORT_AGENT",):
        assert_problem(await send(client, "POST", f"{REFUNDS}/{refund['id']}/approve", {},
                                  auth.headers(role)), 403, "manager_decision_required")
        assert_problem(await send(client, "POST", f"{REFUNDS}/{refund['id']}/reject", {"reason": "no"},
                                  auth.headers(role)), 403, "manager_decision_required")
    response = await send(client, "POST", f"{REFUNDS}/{refund['id']}/approve", {"amount": Decimal("6000.00")},
                          auth.headers("SUPERVISOR"))
    assert response.status_code == 200, response.text
    assert (exact_json(response)["status"], exact_json(response)["amount"]) == ("PROCESSING", Decimal("6000.00"))


async def test_a_support_agent_may_not_approve_more_than_rs_5000_of_a_pending_approval(client, auth):
    """RFR-004: the amount approved, not only the amount asked for, decides who approves."""
    _, refund = await requested(client, auth, price="9999.00", amount="5000.00")
    response = await send(client, "POST", f"{REFUNDS}/{refund['id']}/approve", {"amount": Decimal("5000.01")},
                          auth.headers("SUPPORT_AGENT"))
    assert_problem(response, 403, "manager_decision_required")
    response = await send(client, "POST", f"{REFUNDS}/{refund['id']}/approve", {"amount": Decimal("5000.00")},
                          auth.headers("SUPPORT_AGENT"))
    assert (response.status_code, exact_json(response)["amount"]) == (200, Decimal("5000.00"))


async def test_the_amount_is_never_above_the_refundable_amount_nor_zero(client, auth, engine):
    _, refund = await requested(client, auth, amount="600.00")
    url = f"{REFUNDS}/{refund['id']}/approve"
    for amount in ("1399.08", "0.00"):
        assert_problem(await send(client, "POST", url, {"amount": Decimal(amount)}, auth.headers("SALES_ADMIN")),
                       422, "validation_error", loc=["body", "amount"])
    for bad, loc in [({"amount": "1.234"}, ["body", "amount"]), ({"reason": ""}, ["body", "reason"]),
                     ({"reason": "x" * 1001}, ["body", "reason"]), ({"extra": 1}, ["body", "extra"])]:
        assert_problem(await send(client, "POST", url, bad, auth.headers("SALES_ADMIN")), 422, "validation_error",
                       loc=loc)
    assert (await fetch(engine, refunds))[0].status == "PENDING_APPROVAL"
    assert await events(engine, type="sales.refund.requested") == []
    # up to the refundable amount (more than asked for) is allowed
    response = await send(client, "POST", url, {"amount": Decimal("1399.07")}, auth.headers("SALES_ADMIN"))
    assert (response.status_code, exact_json(response)["amount"]) == (200, Decimal("1399.07"))


async def test_reject_needs_a_reason_and_tells_the_customer(client, auth, engine):
    order, refund = await requested(client, auth)
    url = f"{REFUNDS}/{refund['id']}/reject"
    for bad, loc in [({}, ["body", "reason"]), ({"reason": ""}, ["body", "reason"])]:
        assert_problem(await send(client, "POST", url, bad, auth.headers("SUPPORT_AGENT")), 422, "validation_error",
                       loc=loc)
    agent = uuid.uuid4()
    response = await send(client, "POST", url, {"reason": "plan used on listings"},
                          auth.headers("SUPPORT_AGENT", sub=agent))
    assert response.status_code == 200, response.text
    got = exact_json(response)
    assert (got["status"], got["decision_reason"], got["decided_by"], got["resolved_at"], got["amount"]) == (
        "REJECTED", "plan used on listings", str(agent), "2026-01-07T11:00:00Z", None)
    assert got["timeline"][-1] == {"kind": "REJECTED", "status": "REJECTED", "at": "2026-01-07T11:00:00Z",
                                   "actor_id": str(agent), "actor_role": "SUPPORT_AGENT",
                                   "note": "plan used on listings", "data": None}
    [note] = await fetch(engine, notifications, notifications.c.template == "refund_rejected")
    assert note.recipient_id == uuid.UUID(order["user_id"])
    assert_problem(await send(client, "POST", url, {"reason": "again"}, auth.headers("SALES_ADMIN")), 409,
                   "refund_not_pending")
    # a person's rejection is final: no policy exception over it
    assert_problem(await send(client, "POST", f"{REFUNDS}/{refund['id']}/approve", {"reason": "overrule"},
                              auth.headers("SALES_ADMIN")), 409, "refund_not_pending")
    # a rejected request frees the order: a new one may be filed
    again = await send(client, "POST", REFUNDS, body(order), order["customer"])
    assert again.status_code == 201, again.text


async def test_rfr_005_a_flagged_request_is_a_managers_decision_whatever_the_amount(client, auth):
    first = await bought(client, auth)
    user = first["user_id"]
    second = await bought(client, auth, user=user)
    for order in (first, second):
        response = await send(client, "POST", REFUNDS, body(order, amount=Decimal("100.00")), order["customer"])
        assert exact_json(response)["status"] == "PROCESSING"
    third = await bought(client, auth, user=user)
    flagged = (await send(client, "POST", REFUNDS, body(third, amount=Decimal("100.00")), third["customer"])).json()
    assert (flagged["status"], flagged["flagged"]) == ("PENDING_MANAGER_APPROVAL", True)
    assert_problem(await send(client, "POST", f"{REFUNDS}/{flagged['id']}/approve", {},
                              auth.headers("SUPPORT_AGENT")), 403, "manager_decision_required")
    response = await send(client, "POST", f"{REFUNDS}/{flagged['id']}/approve", {"reason": "long-time customer"},
                          auth.headers("SALES_ADMIN"))
    assert (response.status_code, exact_json(response)["amount"]) == (200, Decimal("100.00"))


async def test_policy_exception_a_manager_grants_an_ineligible_request_with_a_reason(client, auth, engine):
    """RFR-002 failed (52% used): recorded REJECTED; a manager grants it as a policy exception."""
    order, refund = await requested(client, auth, used=13)
    assert (refund["status"], refund["requested_amount"]) == ("REJECTED", Decimal("0.00"))
    url = f"{REFUNDS}/{refund['id']}/approve"
    assert_problem(await send(client, "POST", url, {"reason": "outage"}, auth.headers("SUPPORT_AGENT")), 403,
                   "manager_decision_required")
    assert_problem(await send(client, "POST", url, {}, auth.headers("SUPERVISOR")), 422, "validation_error",
                   loc=["body", "reason"])
    # an exception is bound by what was paid (minus refunds), not by the rules
    assert_problem(await send(client, "POST", url, {"amount": Decimal("1499.01"), "reason": "outage"},
                              auth.headers("SUPERVISOR")), 422, "validation_error", loc=["body", "amount"])
    response = await send(client, "POST", url, {"reason": "platform outage"}, auth.headers("SUPERVISOR"))
    assert response.status_code == 200, response.text
    got = exact_json(response)
    # default: the pro-rata figure of RFR-006 (1499.00 x 42 / 45)
    assert (got["status"], got["amount"], got["policy_exception"], got["decision_reason"]) == (
        "PROCESSING", Decimal("1399.07"), True, "platform outage")
    assert got["timeline"][-2]["data"] == {"amount": Decimal("1399.07"), "policy_exception": True}
    assert [a.action for a in await audit_rows(engine, entity_type="refund")] == ["refund.requested",
                                                                                  "refund.policy_exception"]
    # the order is held again: an eligible request would be 409 (this one, still ineligible, is recorded)
    again = await send(client, "POST", REFUNDS, body(order), order["customer"])
    assert (again.status_code, again.json()["status"], again.json()["resolved_at"]) == (
        201, "REJECTED", "2026-01-07T11:00:00Z")


async def test_a_policy_exception_is_409_while_another_request_on_the_order_is_open(client, auth):
    order, rejected = await requested(client, auth, used=13)
    again = await send(client, "POST", REFUNDS, body(order), auth.headers("SUPPORT_AGENT"))
    assert again.json()["status"] == "REJECTED"  # a rejected request does not hold the order
    first = await send(client, "POST", f"{REFUNDS}/{rejected['id']}/approve", {"reason": "outage"},
                       auth.headers("SALES_ADMIN"))
    assert first.status_code == 200, first.text
    assert_problem(await send(client, "POST", f"{REFUNDS}/{again.json()['id']}/approve", {"reason": "outage"},
                              auth.headers("SALES_ADMIN")), 409, "refund_already_open")


async def test_decisions_auth_and_unknown_refund(client, auth, engine):
    _, refund = await requested(client, auth)
    for path in ("approve", "reject"):
        url = f"{REFUNDS}/{refund['id']}/{path}"
        assert_problem(await send(client, "POST", url, {"reason": "r"}, {}), 401, "not_authenticated")
        for role in ("CUSTOMER", "RM", "FINANCE_ADMIN", "PRODUCT_MANAGER", "SERVICE"):
            assert_problem(await send(client, "POST", url, {"reason": "r"}, auth.headers(role)), 403, "forbidden")
        assert_problem(await send(client, "POST", f"{REFUNDS}/{uuid.uuid4()}/{path}", {"reason": "r"},
                                  auth.headers("SALES_ADMIN")), 404, "refund_not_found")
    assert (await fetch(engine, refunds))[0].status == "PENDING_APPROVAL"


@pytest.mark.parametrize("second", ["approve", "reject"])
async def test_concurrent_decisions_one_wins_and_nothing_refunds_more_than_paid(client, auth, engine, second):
    """Issue 12 Safety (real parallel connections on PostgreSQL): of concurrent approvals (and rejections) of
    one request exactly one succeeds; one `sales.refund.requested`, never more than paid."""
    order, refund = await requested(client, auth)
    calls = []
    for i in range(8):
        path, payload = ("approve", {"amount": Decimal("1399.07")}) if i % 2 == 0 else (second, {"reason": "r"})
        calls.append(send(client, "POST", f"{REFUNDS}/{refund['id']}/{path}", payload, auth.headers("SALES_ADMIN")))
    responses = await asyncio.gather(*calls)
    assert sorted(r.status_code for r in responses) == [200] + [409] * 7, [r.text for r in responses]
    sent = await events(engine, type="sales.refund.requested")
    assert len(sent) <= 1
    [row] = await fetch(engine, orders, orders.c.order_id == uuid.UUID(order["order_id"]))
    assert sum((e.envelope["data"]["amount"] for e in sent), Decimal("0")) <= row.amount
    assert await count(engine, refunds) == 1


async def test_concurrent_policy_exceptions_on_one_order_grant_one(client, auth, engine):
    """Issue 12 Safety (real parallel connections on PostgreSQL): exceptions granted at once on several rejected
    requests of one order open one of them (the partial unique index decides); never more than paid."""
    order, first = await requested(client, auth, used=13)
    others = [exact_json(await send(client, "POST", REFUNDS, body(order), order["customer"])) for _ in range(3)]
    calls = [send(client, "POST", f"{REFUNDS}/{r['id']}/approve", {"reason": "outage"}, auth.headers("SALES_ADMIN"))
             for r in (first, *others)]
    responses = await asyncio.gather(*calls)
    assert sorted(r.status_code for r in responses) == [200, 409, 409, 409], [r.text for r in responses]
    [sent] = await events(engine, type="sales.refund.requested")
    assert sent.envelope["data"]["amount"] == Decimal("1399.07")
    assert sorted(r.status for r in await fetch(engine, refunds)) == ["PROCESSING", "REJECTED", "REJECTED",
                                                                       "REJECTED"]
