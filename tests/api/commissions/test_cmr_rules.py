"""CMR-001..005 through the API, at their boundaries (issue 13; PRD §6.2)."""
from __future__ import annotations

from decimal import Decimal

import pytest

from tests.allocation_builders import run_job, set_clock
from tests.builders import make_team
from tests.checks import events
from tests.commerce_builders import send
from tests.commission_builders import (commission_plan, lines, refund, revenue_target, sell, seller, tiered)


async def test_cmr_001_earned_on_day_30_not_before_with_sales_commission_earned(client, auth, engine):
    who = await seller(client, auth)
    await commission_plan(client, auth.headers("FINANCE_ADMIN"))
    await sell(client, auth, who, "2000.00", "2026-01-10T10:00:00Z")
    await set_clock(client, auth.admin, "2026-02-09T09:59:59Z")
    assert (await run_job(client, auth.admin, "commissions-earn"))["processed"] == 0
    [line] = await lines(client, who["headers"])
    assert line["status"] == "PENDING"
    await set_clock(client, auth.admin, "2026-02-09T10:00:00Z")
    assert (await run_job(client, auth.admin, "commissions-earn"))["processed"] == 1
    assert (await run_job(client, auth.admin, "commissions-earn"))["processed"] == 0
    [line] = await lines(client, who["headers"])
    assert line["status"] == "EARNED"
    [earned] = await events(engine, type="sales.commission.earned")
    assert earned.envelope["data"] == {"commission_id": line["id"], "rm_id": who["rm_id"], "amount": Decimal("100.00")}


@pytest.mark.parametrize(("refunded_at", "status"), [
    ("2026-02-23T10:00:00Z", "CLAWED_BACK"),   # day 44
    ("2026-02-24T10:00:00Z", "CLAWED_BACK"),   # day 45 exactly
    ("2026-02-25T10:00:00Z", "EARNED"),        # day 46: kept
])
async def test_cmr_002_full_refund_within_45_days_claws_an_unpaid_line_back(client, auth, refunded_at, status):
    who = await seller(client, auth)
    await commission_plan(client, auth.headers("FINANCE_ADMIN"))
    order_id = await sell(client, auth, who, "2000.00", "2026-01-10T10:00:00Z")
    await set_clock(client, auth.admin, "2026-02-09T10:00:00Z")
    await run_job(client, auth.admin, "commissions-earn")
    await set_clock(client, auth.admin, refunded_at)
    await refund(client, auth, order_id, "2000.00", refunded_at)
    [line] = await lines(client, who["headers"])
    assert line["status"] == status
    if status == "CLAWED_BACK":
        assert line["clawback_reason"].startswith("CMR-002: refund") and "within 45 days" in line["clawback_reason"]
        assert line["final_amount"] == 100.0   # the amount stays; the status says it is not payable


async def test_cmr_002_a_refund_before_day_30_means_it_is_never_earned(client, auth):
    who = await seller(client, auth)
    await commission_plan(client, auth.headers("FINANCE_ADMIN"))
    order_id = await sell(client, auth, who, "2000.00", "2026-01-10T10:00:00Z")
    await refund(client, auth, order_id, "2000.00", "2026-01-20T10:00:00Z")
    await set_clock(client, auth.admin, "2026-03-01T00:00:00Z")
    assert (await run_job(client, auth.admin, "commissions-earn"))["processed"] == 0
    assert [line["status"] for line in await lines(client, who["headers"])] == ["CLAWED_BACK"]


async def test_cmr_002_a_paid_line_gets_a_reversing_line_deducted_from_the_next_payout(client, auth, engine):
    who = await seller(client, auth)
    finance = auth.headers("FINANCE_ADMIN")
    await commission_plan(client, finance)
    await set_clock(client, auth.admin, "2026-01-10T11:00:00Z")
    order_id = await sell(client, auth, who, "2000.00", "2026-01-10T10:00:00Z")
    await sell(client, auth, who, "4000.00", "2026-02-12T10:00:00Z")
    await set_clock(client, auth.admin, "2026-02-09T10:00:00Z")
    await run_job(client, auth.admin, "commissions-earn")
    [first, _] = await lines(client, who["headers"])
    assert (await client.post(f"/api/v1/sales/commissions/{first['id']}/approve", headers=finance)).status_code == 200
    paid = await client.post("/api/v1/sales/commissions/payouts", json={"period": "2026-01", "reference": "PAY-JAN"},
                             headers=finance)
    assert paid.status_code == 201, paid.text
    await set_clock(client, auth.admin, "2026-02-20T10:00:00Z")
    await refund(client, auth, order_id, "2000.00", "2026-02-20T10:00:00Z")   # day 41
    first, second, reversal = await lines(client, who["headers"])
    assert (first["status"], first["final_amount"]) == ("PAID", 100.0)   # never edited
    assert (reversal["kind"], reversal["corrects_id"], reversal["final_amount"], reversal["status"],
            reversal["period"]) == ("CLAWBACK_REVERSAL", first["id"], -100.0, "APPROVED", "2026-02")
    assert "PAY-JAN" in reversal["explanation"]["text"]
    await set_clock(client, auth.admin, "2026-03-14T10:00:00Z")
    await run_job(client, auth.admin, "commissions-earn")
    assert (await client.post(f"/api/v1/sales/commissions/{second['id']}/approve", headers=finance)).status_code == 200
    feb = await client.post("/api/v1/sales/commissions/payouts", json={"period": "2026-02", "reference": "PAY-FEB"},
                            headers=finance)
    assert feb.json()["lines"] == 2 and '"total":100.00' in feb.text   # 200.00 - 100.00


async def test_cmr_002_an_order_cancelled_within_45_days_claws_back(client, auth):
    who = await seller(client, auth)
    await commission_plan(client, auth.headers("FINANCE_ADMIN"))
    order_id = await sell(client, auth, who, "2000.00", "2026-01-10T10:00:00Z")
    await set_clock(client, auth.admin, "2026-01-15T10:00:00Z")
    order = (await client.get(f"/api/v1/sales/orders/{order_id}", headers=auth.headers("SERVICE"))).json()
    backfill = {k: order[k] for k in ("payment_id", "user_id", "user_type", "plan_id", "currency", "paid_at",
                                      "rm_id")}
    response = await send(client, "PUT", f"/api/v1/sales/orders/{order_id}",
                          {**backfill, "amount": Decimal("2000.00"), "status": "CANCELLED"}, auth.headers("SERVICE"))
    assert response.status_code == 200, response.text
    [line] = await lines(client, who["headers"])
    assert line["status"] == "CLAWED_BACK" and "order cancelled" in line["clawback_reason"]


async def test_cmr_003_crossing_a_tier_adds_adjustment_lines_for_the_months_earlier_sales(client, auth, engine):
    who = await seller(client, auth)
    await commission_plan(client, auth.headers("FINANCE_ADMIN"), **tiered())
    await revenue_target(engine, who["rm_id"], "10000.00")
    await sell(client, auth, who, "6000.00", "2026-01-05T10:00:00Z")     # 60 %: 5 %
    await sell(client, auth, who, "3999.99", "2026-01-06T10:00:00Z")     # 99.9999 %: still 5 %
    assert [line["commission_rate"] for line in await lines(client, who["headers"])] == [5.0, 5.0]
    await sell(client, auth, who, "0.01", "2026-01-07T10:00:00Z")        # exactly 100 %: 7 %
    got = await lines(client, who["headers"])
    assert [(line["kind"], line["commission_rate"], line["final_amount"]) for line in got] == [
        ("SALE", 5.0, 300.0), ("SALE", 5.0, 200.0), ("SALE", 7.0, 0.0),
        ("TIER_ADJUSTMENT", 7.0, 120.0), ("TIER_ADJUSTMENT", 7.0, 80.0)]   # 6000 x 2 %, 3999.99 x 2 %
    assert got[3]["corrects_id"] == got[0]["id"] and got[4]["corrects_id"] == got[1]["id"]
    assert "100.00%" in got[3]["explanation"]["text"]
    await sell(client, auth, who, "2000.00", "2026-01-08T10:00:00Z")     # 120 %: 10 %
    got = await lines(client, who["headers"])
    assert [(line["kind"], line["final_amount"]) for line in got[5:]] == [
        ("SALE", 200.0), ("TIER_ADJUSTMENT", 180.0), ("TIER_ADJUSTMENT", 120.0)]   # 0.01 x 10 % rounds to 0.00
    assert sum(Decimal(str(line["final_amount"])) for line in got) == Decimal("1200.00")   # 12000.01 x 10 %


async def test_cmr_003_no_target_means_the_lowest_tier(client, auth):
    who = await seller(client, auth)
    await commission_plan(client, auth.headers("FINANCE_ADMIN"), **tiered())
    await sell(client, auth, who, "90000.00", "2026-01-05T10:00:00Z")
    [line] = await lines(client, who["headers"])
    assert (line["commission_rate"], line["final_amount"]) == (5.0, 4500.0)
    assert "no monthly REVENUE target" in line["rule"]


async def test_cmr_004_each_member_of_a_team_that_achieved_its_target_gets_the_bonus_once(client, auth, engine):
    team = await make_team(client, auth.admin)
    a = await seller(client, auth, team_id=team["id"])
    b = await seller(client, auth, team_id=team["id"])
    outsider = await seller(client, auth)
    await commission_plan(client, auth.headers("FINANCE_ADMIN"), plan_key="TEAM_BONUS", commission_type="BONUS",
                          rate=None, amount=Decimal("1500.00"))
    await revenue_target(engine, team["id"], "100000.00", target_type="TEAM", status="ACTIVE")
    assert (await run_job(client, auth.admin, "commissions-team-bonus"))["processed"] == 0
    await revenue_target(engine, team["id"], "100000.00", target_type="TEAM", status="ACHIEVED",
                         achieved="100500.00")
    assert (await run_job(client, auth.admin, "commissions-team-bonus"))["processed"] == 2
    assert (await run_job(client, auth.admin, "commissions-team-bonus"))["processed"] == 0
    for member in (a, b):
        [line] = await lines(client, member["headers"])
        assert (line["kind"], line["commission_type"], line["final_amount"], line["status"], line["period"]) == (
            "TEAM_BONUS", "BONUS", 1500.0, "EARNED", "2026-01")
        assert "CMR-004" in line["rule"]
    assert await lines(client, outsider["headers"]) == []
    assert len(await events(engine, type="sales.commission.earned")) == 2


async def test_cmr_005_exactly_at_the_cap_then_reduced_then_zero(client, auth):
    who = await seller(client, auth, base_salary="1000.00")                 # cap 3,000.00
    await commission_plan(client, auth.headers("FINANCE_ADMIN"), rate=Decimal("10.00"))
    await sell(client, auth, who, "20000.00", "2026-01-05T10:00:00Z")       # 2,000.00
    await sell(client, auth, who, "10000.00", "2026-01-06T10:00:00Z")       # 1,000.00: exactly at the cap
    await sell(client, auth, who, "5000.00", "2026-01-07T10:00:00Z")        # 500.00 -> 0
    await sell(client, auth, who, "5000.00", "2026-02-01T10:00:00Z")        # a new month
    got = await lines(client, who["headers"])
    assert [(line["commission_amount"], line["adjustments"], line["final_amount"]) for line in got] == [
        (2000.0, None, 2000.0), (1000.0, None, 1000.0), (500.0, -500.0, 0.0), (500.0, None, 500.0)]
    assert got[2]["reason"].startswith("CMR-005: zero")


async def test_cmr_005_the_crossing_line_is_reduced_to_the_cap_and_says_so(client, auth):
    who = await seller(client, auth, base_salary="1000.00")
    await commission_plan(client, auth.headers("FINANCE_ADMIN"), rate=Decimal("10.00"))
    await sell(client, auth, who, "29999.90", "2026-01-05T10:00:00Z")       # 2,999.99
    await sell(client, auth, who, "1000.00", "2026-01-06T10:00:00Z")        # 100.00 -> 0.01
    _, crossing = await lines(client, who["headers"])
    assert (crossing["commission_amount"], crossing["adjustments"], crossing["final_amount"]) == (100.0, -99.99, 0.01)
    assert "reduced from 100.00 to 0.01" in crossing["explanation"]["text"]
