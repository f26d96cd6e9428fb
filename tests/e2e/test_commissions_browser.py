"""Commissions and targets in a real browser (issue 13): the RM reads each line's explanation and disputes one
(CMR-006); FINANCE_ADMIN batch-approves from the queue and downloads the payroll CSV; a supervisor reads the
team's REVENUE leaderboard. Each test seeds its own RMs; the sales are dated so that the live app's frozen
business time (2026-03-02) is past their 30 days (CMR-001): the clock is never moved, other tests share it."""
from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PASSWORD, LiveApp, _create_users, _off_loop, shot, sign_in

pytestmark = pytest.mark.e2e


def _sell(live: LiveApp, rm: dict[str, Any], amount: str, paid_at: str) -> str:
    """An order sold by the RM, as Billing's backfill (PUT /orders/{id}); the commission line follows."""
    catalog = live.ok("POST", "/plans", json={
        "code": f"TENANT_{uuid.uuid4().hex[:8].upper()}", "name": "Tenant Premium", "user_type": "TENANT", "tier": 1,
        "price": "1499.00", "duration_days": 45, "features": {"owner_contacts": 25}})
    order_id = str(uuid.uuid4())
    live.ok("PUT", f"/orders/{order_id}", token=live.token("SERVICE"), json={
        "payment_id": str(uuid.uuid4()), "user_id": str(uuid.uuid4()), "user_type": "TENANT",
        "plan_id": catalog["id"], "amount": amount, "currency": "INR", "paid_at": paid_at, "rm_id": rm["id"],
        "transaction_type": "SUBSCRIPTION_NEW"})
    return order_id


def _percentage_plan(live: LiveApp) -> None:
    live.ok("POST", "/commissions/plans", token=live.token("FINANCE_ADMIN"), json={
        "plan_key": "SUBSCRIPTION_NEW", "commission_type": "PERCENTAGE", "rate": 5,
        "effective_from": "2026-01-01T00:00:00Z"})


def _line_of(live: LiveApp, rm: dict[str, Any], order_id: str) -> dict[str, Any]:
    items = live.ok("GET", "/commissions", params={"rm_id": rm["id"], "transaction_id": order_id},
                    token=live.token("FINANCE_ADMIN"))["items"]
    [line] = [i for i in items if i["kind"] == "SALE"]
    return line


def _finance_user(live: LiveApp, world: dict[str, Any]) -> dict[str, str]:
    user = {"email": f"finance.{world['tag']}@mysqrft.com", "password": PASSWORD, "role": "FINANCE_ADMIN",
            "name": "Farah Finance"}
    _off_loop(asyncio.run, _create_users(live.database_url, [user]))
    return user


def test_the_rm_reads_each_lines_explanation_and_disputes_one(page: Any, live: LiveApp,
                                                              world: dict[str, Any]) -> None:
    """US-SALE-041 / CMR-006: the lines explain themselves; the dispute button takes a reason and marks the line."""
    rm = world["rm"]
    _percentage_plan(live)
    first = _sell(live, rm, "2000.00", "2026-01-20T10:00:00Z")
    second = _sell(live, rm, "3000.00", "2026-02-25T10:00:00Z")
    live.ok("POST", "/admin/jobs/commissions-earn/run")
    earned, pending = _line_of(live, rm, first), _line_of(live, rm, second)
    assert (earned["status"], pending["status"]) == ("EARNED", "PENDING")

    user = world["users"]["rm"]
    sign_in(page, live.base_url, user["email"], user["password"])
    page.goto(f"{live.base_url}/console/commissions")
    expect(page.get_by_role("heading", name="Commissions", exact=True)).to_be_visible()
    table = page.locator("#commission-lines")
    row = table.locator("tr", has=page.locator(f"#reason-{earned['id']}"))
    expect(row).to_contain_text("PERCENTAGE 5% of 2000.00")
    expect(row).to_contain_text("Earned 30 days after the sale unless refunded (CMR-001)")
    expect(row).to_contain_text("EARNED")
    expect(row).to_contain_text("₹100.00")
    expect(table.locator("tr", has=page.locator(f"#reason-{pending['id']}"))).to_contain_text(
        "PERCENTAGE 5% of 3000.00")
    shot(page, "commissions-rm", live.backend)

    row.get_by_label("Why this commission is wrong").fill("Two plans were sold to this customer")
    row.get_by_role("button", name="Dispute").click()
    expect(page.locator(".alert-ok")).to_contain_text("Done: disputed.")
    expect(page.locator("#commission-lines")).to_contain_text("Disputed: Two plans were sold to this customer")
    expect(page.locator(f"#reason-{earned['id']}")).to_have_count(0)       # no second dispute
    expect(page.locator(f"#reason-{pending['id']}")).to_be_visible()      # the other line still can be
    got = live.ok("GET", f"/commissions/{earned['id']}", token=live.token("FINANCE_ADMIN"))
    assert (got["status"], got["dispute_reason"]) == ("DISPUTED", "Two plans were sold to this customer")
    shot(page, "commissions-rm-disputed", live.backend)


def test_finance_batch_approves_the_queue_and_downloads_the_payout_csv(page: Any, live: LiveApp,
                                                                       world: dict[str, Any]) -> None:
    """US-SALE-042: the approval queue's ticked lines are approved together; the payout report's CSV is the
    payroll export (one row per RM, amounts with two places)."""
    rm, other = world["rm"], world["other"]
    _percentage_plan(live)
    mine = _sell(live, rm, "2000.00", "2026-01-20T10:00:00Z")
    theirs = _sell(live, other, "3000.50", "2026-01-21T10:00:00Z")
    live.ok("POST", "/admin/jobs/commissions-earn/run")
    ids = [_line_of(live, rm, mine)["id"], _line_of(live, other, theirs)["id"]]

    finance = _finance_user(live, world)
    sign_in(page, live.base_url, finance["email"], finance["password"])
    page.goto(f"{live.base_url}/console/commissions?period=2026-01")
    expect(page.get_by_role("heading", name="Commission approvals")).to_be_visible()
    for line_id in ids:
        page.locator(f"#approve-{line_id}").check()
    shot(page, "commissions-finance-queue", live.backend)
    page.get_by_role("button", name="Approve the ticked commissions").click()
    expect(page.locator(".alert-ok")).to_contain_text("Done: approved 2.")
    for line_id in ids:
        expect(page.locator(f"#approve-{line_id}")).to_have_count(0)     # out of the queue
        got = live.ok("GET", f"/commissions/{line_id}", token=live.token("FINANCE_ADMIN"))
        assert (got["status"], got["approved_by"] is not None) == ("APPROVED", True)

    report = page.locator("#payout-report")
    expect(report).to_contain_text("₹100.00")
    expect(report).to_contain_text("₹150.03")   # 3000.50 x 5 % = 150.025, half-up
    shot(page, "commissions-payout-report", live.backend)
    with page.expect_download() as download:
        page.locator("#payout-csv").click()
    assert download.value.suggested_filename == "commission-payout-2026-01.csv"
    rows = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert rows[0] == "period,rm_id,rm_name,lines,payable_amount,paid_amount,payout_references"
    assert f"2026-01,{rm['id']},Priya Patel,1,100.00,0.00," in rows
    assert f"2026-01,{other['id']},Rohan Iyer,1,150.03,0.00," in rows


def test_the_supervisor_reads_the_teams_revenue_leaderboard(page: Any, live: LiveApp,
                                                            world: dict[str, Any]) -> None:
    """Targets and leaderboards: March REVENUE targets of 10,000.00 measured from the orders sold; ranked by
    achievement; the RM sees their own targets with progress."""
    rm, other = world["rm"], world["other"]
    for who in (rm, other):
        live.ok("POST", "/targets", json={"target_type": "INDIVIDUAL", "assignee_id": who["id"],
                                          "period_type": "MONTHLY", "period_start": "2026-03-01",
                                          "metric_type": "REVENUE", "target_value": "10000.00"})
    _sell(live, rm, "6000.00", "2026-03-01T10:00:00Z")
    _sell(live, other, "12000.00", "2026-03-01T11:00:00Z")

    user = world["users"]["supervisor"]
    sign_in(page, live.base_url, user["email"], user["password"])
    page.goto(f"{live.base_url}/console/targets")
    board = page.locator("table.leaderboard")
    expect(board).to_have_count(1)
    rows = board.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text(re.compile(r"1\s*Rohan Iyer\s*₹12,000.00\s*₹10,000.00.*120.00%.*Achieved",
                                                   re.S | re.I))
    expect(rows.nth(1)).to_contain_text(re.compile(r"2\s*Priya Patel\s*₹6,000.00\s*₹10,000.00.*60.00%", re.S))
    shot(page, "targets-leaderboard", live.backend)

    page.context.clear_cookies()
    me = world["users"]["rm"]
    sign_in(page, live.base_url, me["email"], me["password"])
    page.goto(f"{live.base_url}/console/targets")
    expect(page.get_by_role("heading", name="My targets")).to_be_visible()
    expect(page.locator("#targets-table")).to_contain_text(re.compile(r"Revenue.*₹6,000.00.*₹10,000.00.*60.00%", re.S))
    expect(page.locator("table.leaderboard tbody tr.strong")).to_contain_text("Priya Patel")
    shot(page, "targets-rm", live.backend)
