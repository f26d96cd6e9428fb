"""The console's commission pages (issue 13): the RM's lines with explanations and the dispute button (CMR-006),
finance's approval queue with batch approve and the payout report. Strict CSP markup."""
from __future__ import annotations

import uuid
from decimal import Decimal

from tests.allocation_builders import run_job, set_clock
from tests.api.console.test_console_auth import _csrf, _sign_in, _user
from tests.api.console.test_console_upsells import assert_csp_clean
from tests.commission_builders import commission_plan, lines, sell, seller

PAGE = "/console/commissions"


async def test_the_rm_reads_explanations_and_disputes_from_the_page(client, auth, engine):
    who = await seller(client, auth)
    await set_clock(client, auth.admin, "2026-01-05T12:00:00Z")
    await commission_plan(client, auth.headers("FINANCE_ADMIN"), rate=Decimal("5.00"))
    await sell(client, auth, who, "2000.00", "2026-01-05T10:00:00Z")
    assert (await _sign_in(client, await _user(engine, role="RM", rm_id=who["rm_id"]))).status_code == 303
    page = await client.get(PAGE)
    assert page.status_code == 200, page.text
    assert_csp_clean(page.text)
    assert "PERCENTAGE 5% of 2000.00" in page.text and ">Dispute</button>" in page.text
    [line] = await lines(client, who["headers"])
    empty = await client.post(f"{PAGE}/{line['id']}/dispute", data={"csrf_token": _csrf(page.text), "reason": " "})
    assert empty.status_code == 422 and "Reason: say what is wrong." in empty.text
    done = await client.post(f"{PAGE}/{line['id']}/dispute",
                             data={"csrf_token": _csrf(page.text), "reason": "Wrong plan"})
    assert done.status_code == 303
    [line] = await lines(client, who["headers"])
    assert (line["status"], line["dispute_reason"]) == ("DISPUTED", "Wrong plan")
    assert "Disputed: Wrong plan" in (await client.get(PAGE)).text


async def test_finance_batch_approves_from_the_queue_and_reads_the_payout_report(client, auth, engine):
    who = await seller(client, auth, name="Kavya Iyer")
    await set_clock(client, auth.admin, "2026-01-05T12:00:00Z")
    await commission_plan(client, auth.headers("FINANCE_ADMIN"), rate=Decimal("5.00"))
    await sell(client, auth, who, "2000.00", "2026-01-05T10:00:00Z")
    await sell(client, auth, who, "3000.00", "2026-01-05T10:00:00Z")
    await set_clock(client, auth.admin, "2026-02-10T10:00:00Z")
    await run_job(client, auth.admin, "commissions-earn")
    assert (await _sign_in(client, await _user(engine, role="FINANCE_ADMIN"))).status_code == 303
    page = await client.get(PAGE, params={"period": "2026-01"})
    assert page.status_code == 200, page.text
    assert_csp_clean(page.text)
    ids = [line["id"] for line in await lines(client, who["headers"])]
    assert all(f'value="{i}"' in page.text for i in ids)
    bad = await client.post(f"{PAGE}/approve", data={"csrf_token": _csrf(page.text), "ids": [ids[0],
                                                                                           str(uuid.uuid4())]})
    assert bad.status_code == 409 and "Nothing was approved" in bad.text
    assert {line["status"] for line in await lines(client, who["headers"])} == {"EARNED"}
    done = await client.post(f"{PAGE}/approve", data={"csrf_token": _csrf(page.text), "ids": ids})
    assert done.status_code == 303
    assert {line["status"] for line in await lines(client, who["headers"])} == {"APPROVED"}
    report = await client.get(PAGE, params={"period": "2026-01"})
    assert "Payout report 2026-01" in report.text and "Kavya Iyer" in report.text


async def test_roles_without_commissions_are_refused(client, engine):
    assert (await _sign_in(client, await _user(engine, role="PRODUCT_MANAGER"))).status_code == 303
    assert (await client.get(PAGE)).status_code == 403


async def test_finance_downloads_the_payout_csv_and_nobody_else_does(client, auth, engine):
    who = await seller(client, auth, name="Kavya Iyer")
    await set_clock(client, auth.admin, "2026-01-05T12:00:00Z")
    await commission_plan(client, auth.headers("FINANCE_ADMIN"), rate=Decimal("5.00"))
    await sell(client, auth, who, "2000.00", "2026-01-05T10:00:00Z")
    await set_clock(client, auth.admin, "2026-02-10T10:00:00Z")
    await run_job(client, auth.admin, "commissions-earn")
    [line] = await lines(client, who["headers"])
    approved = await client.post(f"/api/v1/sales/commissions/{line['id']}/approve",
                                 headers=auth.headers("FINANCE_ADMIN"))
    assert approved.status_code == 200, approved.text
    assert (await _sign_in(client, await _user(engine, role="FINANCE_ADMIN"))).status_code == 303
    assert 'href="/console/commissions/payout-report.csv?period=2026-01"' in (
        await client.get(PAGE, params={"period": "2026-01"})).text
    csv = await client.get(f"{PAGE}/payout-report.csv", params={"period": "2026-01"})
    assert csv.status_code == 200, csv.text
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.headers["content-disposition"] == 'attachment; filename="commission-payout-2026-01.csv"'
    assert csv.text == ("period,rm_id,rm_name,lines,payable_amount,paid_amount,payout_references\n"
                        f"2026-01,{who['rm_id']},Kavya Iyer,1,100.00,0.00,\n")
    bad = await client.get(f"{PAGE}/payout-report.csv", params={"period": "2026-13"})
    assert bad.status_code == 422 and "Period: enter a month as YYYY-MM." in bad.text
    assert (await _sign_in(client, await _user(engine, role="RM", rm_id=who["rm_id"]))).status_code == 303
    refused = await client.get(f"{PAGE}/payout-report.csv", params={"period": "2026-01"})
    assert refused.status_code == 403 and "period,rm_id" not in refused.text
