"""Approvals with exceptions (US-SALE-042), disputes (CMR-006), payouts, the payout report and the RM summary."""
from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from decimal import Decimal

from sales.commissions.models import commissions
from sales.refunds.models import refunds
from tests.allocation_builders import run_job, set_clock
from tests.checks import assert_problem, audit_rows, count, events
from tests.commerce_builders import send
from tests.commission_builders import COMMISSIONS, commission_plan, lines, sell, seller


async def earned_lines(client, auth, who, *amounts: str, **plan):  # type: ignore[no-untyped-def]
    """Sales on 2026-01-05 of the amounts at 5 % (unless `plan` says otherwise), EARNED on 2026-02-10; by amount."""
    await set_clock(client, auth.admin, "2026-01-05T12:00:00Z")
    await commission_plan(client, auth.headers("FINANCE_ADMIN"), **plan)
    for amount in amounts:
        await sell(client, auth, who, amount, "2026-01-05T10:00:00Z")
    await set_clock(client, auth.admin, "2026-02-10T10:00:00Z")
    await run_job(client, auth.admin, "commissions-earn")
    return sorted(await lines(client, who["headers"]), key=lambda line: line["base_amount"])


def approve(client, line, headers):  # type: ignore[no-untyped-def]
    return client.post(f"{COMMISSIONS}/{line['id']}/approve", headers=headers)


async def test_approve_moves_an_earned_line_to_approved_and_is_audited(client, auth, engine):
    who = await seller(client, auth)
    [line] = await earned_lines(client, auth, who, "2000.00")
    finance = uuid.uuid4()
    response = await approve(client, line, auth.headers("FINANCE_ADMIN", sub=finance))
    assert response.status_code == 200, response.text
    got = response.json()
    assert (got["status"], got["approved_by"], got["approved_at"], got["final_amount"]) == (
        "APPROVED", str(finance), "2026-02-10T10:00:00Z", 100.0)
    assert [a.action for a in await audit_rows(engine, entity_type="commission", entity_id=line["id"])
            ][-1] == "commission.approved"
    assert_problem(await approve(client, line, auth.headers("FINANCE_ADMIN")), 409, "commission_not_approvable")


async def test_approve_authorization_and_state(client, auth):
    who = await seller(client, auth)
    await commission_plan(client, auth.headers("FINANCE_ADMIN"))
    await sell(client, auth, who, "2000.00", "2026-01-05T10:00:00Z")
    [pending] = await lines(client, who["headers"])
    assert_problem(await approve(client, pending, auth.headers("FINANCE_ADMIN")), 409, "commission_not_approvable")
    assert (await approve(client, pending, who["headers"])).status_code == 403
    assert (await approve(client, pending, auth.headers("SALES_ADMIN"))).status_code == 403
    assert (await client.post(f"{COMMISSIONS}/{pending['id']}/approve")).status_code == 401
    assert (await approve(client, {"id": str(uuid.uuid4())}, auth.headers("FINANCE_ADMIN"))).status_code == 404


async def test_an_exception_line_needs_a_second_different_approver(client, auth):
    who = await seller(client, auth)
    [line] = await earned_lines(client, auth, who, "20000.00", exception_above=Decimal("999.99"))   # 1,000.00
    assert line["exception"] and "above the exception threshold 999.99" in line["exception_reasons"][0]
    first, second = uuid.uuid4(), uuid.uuid4()
    response = await approve(client, line, auth.headers("FINANCE_ADMIN", sub=first))
    assert (response.json()["status"], response.json()["approved_by"]) == ("EARNED", str(first))
    assert_problem(await approve(client, line, auth.headers("FINANCE_ADMIN", sub=first)), 409,
                   "second_approver_required")
    response = await approve(client, line, auth.headers("FINANCE_ADMIN", sub=second))
    assert (response.json()["status"], response.json()["second_approved_by"]) == ("APPROVED", str(second))


async def test_a_fraud_flagged_customer_makes_an_exception(client, auth, engine):
    who = await seller(client, auth)
    user = str(uuid.uuid4())
    await commission_plan(client, auth.headers("FINANCE_ADMIN"))
    first_order = await sell(client, auth, who, "1000.00", "2026-01-02T10:00:00Z", user_id=user)
    at = datetime(2026, 1, 3, tzinfo=UTC)
    async with engine.begin() as conn:
        await conn.execute(refunds.insert().values(
            id=uuid.uuid4(), order_id=uuid.UUID(first_order), user_id=uuid.UUID(user), type="REFUND",
            status="PENDING_MANAGER_APPROVAL", flagged=True, reason="3rd refund", requested_amount=Decimal("10.00"),
            refundable_amount=Decimal("10.00"), approval="MANAGER", rules=[], requested_by=uuid.UUID(user),
            requested_at=at, expected_resolution_by=at, created_at=at, updated_at=at))
    await sell(client, auth, who, "1000.00", "2026-01-04T10:00:00Z", user_id=user)
    before, after = sorted(await lines(client, who["headers"]), key=lambda line: line["sale_at"])
    assert not before["exception"]
    assert after["exception"] and "fraud" in after["exception_reasons"][0]


async def test_batch_approve_is_all_or_nothing_with_each_items_outcome(client, auth):
    who = await seller(client, auth)
    got = await earned_lines(client, auth, who, "1000.00", "2000.00", "30000.00", exception_above=Decimal("1000.00"))
    finance = auth.headers("FINANCE_ADMIN")
    await sell(client, auth, who, "500.00", "2026-02-10T09:00:00Z")
    pending = [line for line in await lines(client, who["headers"]) if line["status"] == "PENDING"][0]
    ids = [line["id"] for line in got]
    response = await send(client, "POST", f"{COMMISSIONS}/batch-approve", {"ids": [*ids, pending["id"]]}, finance)
    problem = assert_problem(response, 409, "batch_rejected")
    assert [item["outcome"] for item in problem["items"]] == [
        "APPROVED", "APPROVED", "FIRST_APPROVAL", "commission_not_approvable"]
    assert {line["status"] for line in await lines(client, who["headers"]) if line["id"] in ids} == {"EARNED"}
    response = await send(client, "POST", f"{COMMISSIONS}/batch-approve", {"ids": ids}, finance)
    assert response.status_code == 200, response.text
    assert [(i["outcome"], i["status"]) for i in response.json()["items"]] == [
        ("APPROVED", "APPROVED"), ("APPROVED", "APPROVED"), ("FIRST_APPROVAL", "EARNED")]
    assert_problem(await send(client, "POST", f"{COMMISSIONS}/batch-approve", {"ids": [ids[0], ids[0]]}, finance),
                   422, "validation_error", loc=["body", "ids"])
    assert_problem(await send(client, "POST", f"{COMMISSIONS}/batch-approve", {"ids": []}, finance), 422,
                   "validation_error")
    assert (await send(client, "POST", f"{COMMISSIONS}/batch-approve", {"ids": ids}, who["headers"])).status_code == 403


async def test_cmr_006_the_rm_disputes_within_7_days_then_finance_rejects_or_upholds(client, auth):
    who = await seller(client, auth)
    await set_clock(client, auth.admin, "2026-01-05T12:00:00Z")
    await commission_plan(client, auth.headers("FINANCE_ADMIN"))
    await sell(client, auth, who, "2000.00", "2026-01-05T10:00:00Z")
    await sell(client, auth, who, "4000.00", "2026-01-05T11:00:00Z")
    first, second = sorted(await lines(client, who["headers"]), key=lambda line: line["sale_at"])
    dispute = {"reason": "The deal was 2,500 not 2,000"}
    other = await seller(client, auth)
    assert (await send(client, "POST", f"{COMMISSIONS}/{first['id']}/dispute", dispute,
                       other["headers"])).status_code == 404
    assert (await send(client, "POST", f"{COMMISSIONS}/{first['id']}/dispute", dispute,
                       auth.headers("FINANCE_ADMIN"))).status_code == 403
    assert_problem(await send(client, "POST", f"{COMMISSIONS}/{first['id']}/dispute", {"reason": ""},
                              who["headers"]), 422, "validation_error", loc=["body", "reason"])
    await set_clock(client, auth.admin, "2026-01-12T12:00:00Z")   # exactly 7 days after the calculation
    response = await send(client, "POST", f"{COMMISSIONS}/{first['id']}/dispute", dispute, who["headers"])
    assert (response.status_code, response.json()["status"]) == (200, "DISPUTED"), response.text
    await set_clock(client, auth.admin, "2026-01-12T12:00:01Z")
    assert_problem(await send(client, "POST", f"{COMMISSIONS}/{second['id']}/dispute", dispute, who["headers"]),
                   409, "dispute_window_closed")
    finance = auth.headers("FINANCE_ADMIN")
    assert_problem(await send(client, "POST", f"{COMMISSIONS}/{first['id']}/resolve",
                              {"outcome": "UPHELD", "reason": "checked"}, finance), 422, "validation_error",
                   loc=["body", "amount"])
    response = await send(client, "POST", f"{COMMISSIONS}/{first['id']}/resolve",
                          {"outcome": "UPHELD", "amount": Decimal("25.00"), "reason": "Invoice shows 2,500"}, finance)
    assert (response.status_code, response.json()["status"], response.json()["dispute_outcome"]) == (
        200, "PENDING", "UPHELD"), response.text
    adjustment = [line for line in await lines(client, who["headers"]) if line["kind"] == "DISPUTE_ADJUSTMENT"][0]
    assert (adjustment["corrects_id"], adjustment["final_amount"], adjustment["status"], adjustment["exception"],
            adjustment["exception_reasons"]) == (first["id"], 25.0, "PENDING", True, ["manual adjustment"])
    assert_problem(await send(client, "POST", f"{COMMISSIONS}/{first['id']}/resolve",
                              {"outcome": "REJECTED", "reason": "again"}, finance), 409, "commission_not_disputed")


async def test_cmr_006_a_rejected_dispute_returns_the_line_to_its_status(client, auth):
    who = await seller(client, auth)
    [line] = await earned_lines(client, auth, who, "2000.00")
    await set_clock(client, auth.admin, "2026-01-06T10:00:00Z")
    # calculated 2026-01-05T12:00Z, earned on 02-10: the dispute window (7 days of calculation) closed meanwhile
    await set_clock(client, auth.admin, "2026-02-10T10:00:00Z")
    assert_problem(await send(client, "POST", f"{COMMISSIONS}/{line['id']}/dispute", {"reason": "x"},
                              who["headers"]), 409, "dispute_window_closed")
    who2 = await seller(client, auth)
    await sell(client, auth, who2, "2000.00", "2026-02-10T09:00:00Z")
    [line2] = await lines(client, who2["headers"])
    assert (await send(client, "POST", f"{COMMISSIONS}/{line2['id']}/dispute", {"reason": "x"},
                       who2["headers"])).status_code == 200
    response = await send(client, "POST", f"{COMMISSIONS}/{line2['id']}/resolve",
                          {"outcome": "REJECTED", "reason": "Plan rate applied correctly"},
                          auth.headers("FINANCE_ADMIN"))
    assert (response.json()["status"], response.json()["dispute_resolution"]) == (
        "PENDING", "Plan rate applied correctly")
    assert len(await lines(client, who2["headers"])) == 1


async def test_payout_pays_approved_lines_once_with_events_and_the_report(client, auth, engine):
    a, b = await seller(client, auth, name="Asha Rao"), await seller(client, auth, name="=Bad Name")
    finance = auth.headers("FINANCE_ADMIN")
    for line in [*await earned_lines(client, auth, a, "2000.00", "3000.00"),
                 *await earned_lines(client, auth, b, "1000.00")]:
        assert (await approve(client, line, finance)).status_code == 200
    report = await client.get(f"{COMMISSIONS}/payout-report", params={"period": "2026-01"}, headers=finance)
    assert report.status_code == 200, report.text
    assert '"payable_total":300.00' in report.text
    assert [(r["rm_name"], r["lines"], r["payable_amount"]) for r in report.json()["rows"]] == [
        ("=Bad Name", 1, 50.0), ("Asha Rao", 2, 250.0)]
    body = {"period": "2026-01", "reference": "NEFT-2026-01"}
    response = await send(client, "POST", f"{COMMISSIONS}/payouts", body, finance)
    assert response.status_code == 201, response.text
    assert (response.json()["lines"], response.json()["reference"]) == (3, "NEFT-2026-01")
    assert '"total":300.00' in response.text
    assert_problem(await send(client, "POST", f"{COMMISSIONS}/payouts", body, finance), 409, "payout_reference_used")
    again = await send(client, "POST", f"{COMMISSIONS}/payouts", {**body, "reference": "NEFT-2"}, finance)
    assert again.json()["lines"] == 0
    paid = await events(engine, type="sales.commission.paid")
    assert len(paid) == 3 and {e.envelope["data"]["payout_reference"] for e in paid} == {"NEFT-2026-01"}
    assert {line["status"] for line in await lines(client, a["headers"])} == {"PAID"}
    csv = await client.get(f"{COMMISSIONS}/payout-report", params={"period": "2026-01"},
                           headers={**finance, "Accept": "text/csv"})
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines() == [
        "period,rm_id,rm_name,lines,payable_amount,paid_amount,payout_references",
        f"2026-01,{b['rm_id']},'=Bad Name,1,0.00,50.00,NEFT-2026-01",
        f"2026-01,{a['rm_id']},Asha Rao,2,0.00,250.00,NEFT-2026-01"]
    assert_problem(await send(client, "POST", f"{COMMISSIONS}/payouts", {"period": "2026-03", "reference": "X"},
                              finance), 422, "validation_error", loc=["body", "period"])
    assert_problem(await send(client, "POST", f"{COMMISSIONS}/payouts", {"period": "2026-13", "reference": "X"},
                              finance), 422, "validation_error")
    assert (await client.get(f"{COMMISSIONS}/payout-report", params={"period": "2026-01"},
                             headers=a["headers"])).status_code == 403


async def test_rm_summary_this_month_and_this_year(client, auth):
    who = await seller(client, auth)
    [line, _] = await earned_lines(client, auth, who, "2000.00", "3000.00")
    assert (await approve(client, line, auth.headers("FINANCE_ADMIN"))).status_code == 200
    await sell(client, auth, who, "1000.00", "2026-02-09T10:00:00Z")
    response = await client.get(f"{COMMISSIONS}/rm/{who['rm_id']}/summary", headers=who["headers"])
    assert response.status_code == 200, response.text
    got = response.json()
    assert (got["month"], got["this_month"]["pending"], got["this_month"]["earned"]) == ("2026-02", 50.0, 0)
    assert (got["this_year"]["pending"], got["this_year"]["earned"], got["this_year"]["approved"],
            got["this_year"]["paid"]) == (50.0, 150.0, 100.0, 0)
    other = await seller(client, auth)
    assert (await client.get(f"{COMMISSIONS}/rm/{who['rm_id']}/summary", headers=other["headers"])).status_code == 404
    assert (await client.get(f"{COMMISSIONS}/rm/{who['rm_id']}/summary",
                             headers=auth.headers("FINANCE_ADMIN"))).status_code == 200


async def test_no_double_payout_under_parallel_batch_approvals_and_payout_runs(client, auth, engine):
    """Real parallel connections on PostgreSQL (and SQLite's single writer): approvals and payouts race; each
    line is paid by exactly one payout, and the payouts' totals add up to the lines paid."""
    who = await seller(client, auth)
    got = await earned_lines(client, auth, who, *[f"{1000 + i}.00" for i in range(24)])
    ids = [line["id"] for line in got]
    finance = [auth.headers("FINANCE_ADMIN", sub=uuid.uuid4()) for _ in range(4)]
    batches = [send(client, "POST", f"{COMMISSIONS}/batch-approve", {"ids": ids[i::4]}, finance[i]) for i in range(4)]
    payouts = [send(client, "POST", f"{COMMISSIONS}/payouts", {"period": "2026-01", "reference": f"RUN-{i}"},
                    finance[i % 4]) for i in range(6)]
    racing = await asyncio.gather(*[c for pair in zip(batches, payouts) for c in pair], *payouts[4:])
    assert all(r.status_code in (200, 201) for r in racing), [r.text for r in racing if r.status_code >= 300]
    final = await send(client, "POST", f"{COMMISSIONS}/payouts", {"period": "2026-01", "reference": "RUN-LAST"},
                       finance[0])
    runs = [r.json() for r in racing if r.status_code == 201] + [final.json()]
    assert sum(run["lines"] for run in runs) == 24
    assert sum(Decimal(str(run["total"])) for run in runs) == sum(Decimal(str(line["final_amount"])) for line in got)
    paid = await events(engine, type="sales.commission.paid")
    assert sorted(e.envelope["data"]["commission_id"] for e in paid) == sorted(ids)
    assert await count(engine, commissions, commissions.c.status == "PAID") == 24
