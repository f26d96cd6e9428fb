"""A month replayed end to end (issue 13 "Done when"): sales arriving as Billing events, a tier change
(CMR-003), a dispute upheld (CMR-006), the 30-day eligibility (CMR-001), batch approval with an exception's
second approver, a refund on day 46 (kept) and one on day 44 after payout (reversed, CMR-002, re-tiered), and
two payouts. Every figure checked to the paisa against the hand-computed table below.

RM base salary 40,000.00 (cap 120,000.00, not reached). March target: REVENUE 100,000.00. Plan v1
SUBSCRIPTION_NEW TIERED: from 0 % 5 %, from 100 % 7 %, from 120 % 10 %; exception above 25,000.00.

| line              | when   | base      | rate | amount   | why                                            |
|-------------------|--------|-----------|------|----------|------------------------------------------------|
| S1 sale           | 03-02  | 30000.00  | 5 %  | 1500.00  | revenue 30,000 (30 %)                          |
| S2 sale           | 03-05  | 45000.00  | 5 %  | 2250.00  | 75 %                                           |
| D  dispute adj.   | 03-09  |           |      | 100.00   | S2 disputed 03-08, upheld (manual: exception)  |
| S3 sale           | 03-10  | 12345.67  | 5 %  | 617.28   | 87.35 % (617.2835)                             |
| S4 sale           | 03-15  | 20000.00  | 7 %  | 1400.00  | 107,345.67 = 107.35 %: tier 2                  |
| S1 tier adj.      | 03-15  |           | 7 %  | 600.00   | 2100.00 - 1500.00                              |
| S2 tier adj.      | 03-15  |           | 7 %  | 900.00   | 3150.00 - 2250.00                              |
| S3 tier adj.      | 03-15  |           | 7 %  | 246.92   | 864.20 (864.1969) - 617.28                     |
| S5 sale (April)   | 04-02  | 100000.00 | 5 %  | 5000.00  | no April target: lowest tier                   |
| payout MAR-2026   | 04-20  |           |      | 7614.20  | the 8 March lines, all approved on 04-15       |
| refund of S1      | 04-17  |           |      | -        | day 46: kept                                   |
| S3 reversal       | 04-23  |           |      | -617.28  | refund on day 44 of a paid line                |
| S3 adj. reversal  | 04-23  |           |      | -246.92  |                                                |
| S1 tier adj.      | 04-23  |           | 5 %  | -600.00  | revenue now 95,000 = 95 %: back to tier 1      |
| S2 tier adj.      | 04-23  |           | 5 %  | -900.00  |                                                |
| S4 tier adj.      | 04-23  |           | 5 %  | -400.00  | 1000.00 - 1400.00                              |
| payout APR-2026   | 05-03  |           |      | 2235.80  | 5000.00 - 864.20 - 1900.00                     |

Paid in all: 9,850.00 = S1 1500 + S2 2250 + D 100 + S4 1000 + S5 5000.
"""
from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from tests.allocation_builders import run_job, set_clock
from tests.checks import events
from tests.commerce_builders import deliver, event, send
from tests.events_schema import assert_outbox_valid
from tests.commission_builders import COMMISSIONS, commission_plan, lines, refund, revenue_target, seller, tiered

D = Decimal


async def test_a_month_replayed_end_to_end_to_the_paisa(client, auth, engine):
    who = await seller(client, auth)
    rm = who["headers"]
    finance_a = auth.headers("FINANCE_ADMIN", sub=uuid.uuid4())
    finance_b = auth.headers("FINANCE_ADMIN", sub=uuid.uuid4())
    await set_clock(client, auth.admin, "2026-03-01T00:00:00Z")
    await commission_plan(client, finance_a, **tiered(effective_from="2026-03-01T00:00:00Z"))
    await revenue_target(engine, who["rm_id"], "100000.00", month=date(2026, 3, 1))
    orders: dict[str, str] = {}

    async def sale(name: str, amount: str, at: str) -> None:
        await set_clock(client, auth.admin, at.replace("T10:", "T11:"))
        order_id = str(uuid.uuid4())
        data = {"payment_id": str(uuid.uuid4()), "order_id": order_id, "user_id": str(uuid.uuid4()),
                "user_type": "TENANT", "plan_id": who["catalog"]["id"], "amount": D(amount), "currency": "INR",
                "paid_at": at, "rm_id": who["rm_id"], "transaction_type": "SUBSCRIPTION_NEW"}
        [outcome] = await deliver(client, auth, event("billing.payment.completed", data))
        assert outcome["status"] == "PROCESSED", outcome
        orders[name] = order_id

    def by_order(got, name, kind="SALE"):  # type: ignore[no-untyped-def]
        return [line for line in got if line["transaction_id"] == orders[name] and line["kind"] == kind]

    await sale("S1", "30000.00", "2026-03-02T10:00:00Z")
    await sale("S2", "45000.00", "2026-03-05T10:00:00Z")
    [s2] = by_order(await lines(client, rm), "S2")
    await set_clock(client, auth.admin, "2026-03-08T10:00:00Z")
    disputed = await send(client, "POST", f"{COMMISSIONS}/{s2['id']}/dispute", {"reason": "Two plans were sold"}, rm)
    assert disputed.json()["status"] == "DISPUTED", disputed.text
    await set_clock(client, auth.admin, "2026-03-09T10:00:00Z")
    upheld = await send(client, "POST", f"{COMMISSIONS}/{s2['id']}/resolve",
                        {"outcome": "UPHELD", "amount": D("100.00"), "reason": "Add-on sold too"}, finance_a)
    assert upheld.json()["status"] == "PENDING", upheld.text
    await sale("S3", "12345.67", "2026-03-10T10:00:00Z")
    await sale("S4", "20000.00", "2026-03-15T10:00:00Z")
    await sale("S5", "100000.00", "2026-04-02T10:00:00Z")

    got = await lines(client, rm)
    table = {(line["kind"], name): D(str(line["final_amount"])) for name in orders
             for line in got if line["transaction_id"] == orders[name]}
    assert table == {("SALE", "S1"): D("1500.00"), ("SALE", "S2"): D("2250.00"), ("SALE", "S3"): D("617.28"),
                     ("SALE", "S4"): D("1400.00"), ("TIER_ADJUSTMENT", "S1"): D("600.00"),
                     ("TIER_ADJUSTMENT", "S2"): D("900.00"), ("TIER_ADJUSTMENT", "S3"): D("246.92"),
                     ("DISPUTE_ADJUSTMENT", "S2"): D("100.00"), ("SALE", "S5"): D("5000.00")}
    [s3_adj] = by_order(got, "S3", "TIER_ADJUSTMENT")
    assert (s3_adj["commission_rate"], s3_adj["explanation"]["inputs"]["achievement_percentage"]) == (7.0, 107.35)

    # CMR-001: all March lines are earned by 04-15 (S4 on 04-14); S5 not before 05-02.
    await set_clock(client, auth.admin, "2026-04-15T12:00:00Z")
    assert (await run_job(client, auth.admin, "commissions-earn"))["processed"] == 8
    march = [line["id"] for line in await lines(client, rm, period="2026-03")]
    batch = await send(client, "POST", f"{COMMISSIONS}/batch-approve", {"ids": march}, finance_a)
    assert batch.status_code == 200, batch.text
    outcomes = {item["id"]: item["outcome"] for item in batch.json()["items"]}
    [dispute_adj] = by_order(await lines(client, rm), "S2", "DISPUTE_ADJUSTMENT")
    assert outcomes[dispute_adj["id"]] == "FIRST_APPROVAL"
    assert sorted(outcomes.values()) == ["APPROVED"] * 7 + ["FIRST_APPROVAL"]
    assert (await client.post(f"{COMMISSIONS}/{dispute_adj['id']}/approve", headers=finance_b)).status_code == 200

    await set_clock(client, auth.admin, "2026-04-17T10:00:00Z")
    await refund(client, auth, orders["S1"], "30000.00", "2026-04-17T10:00:00Z")    # day 46: kept
    await set_clock(client, auth.admin, "2026-04-20T10:00:00Z")
    mar = await send(client, "POST", f"{COMMISSIONS}/payouts", {"period": "2026-03", "reference": "MAR-2026"},
                     finance_a)
    assert (mar.json()["lines"], D(str(mar.json()["total"]))) == (8, D("7614.20")), mar.text

    await set_clock(client, auth.admin, "2026-04-23T10:00:00Z")
    await refund(client, auth, orders["S3"], "12345.67", "2026-04-23T10:00:00Z")    # day 44: reversed
    got = await lines(client, rm)
    reversals = sorted(D(str(line["final_amount"])) for line in got if line["kind"] == "CLAWBACK_REVERSAL")
    assert reversals == [D("-617.28"), D("-246.92")]
    down = {name: [D(str(line["final_amount"])) for line in by_order(got, name, "TIER_ADJUSTMENT")]
            for name in ("S1", "S2", "S4")}
    assert down == {"S1": [D("600.00"), D("-600.00")], "S2": [D("900.00"), D("-900.00")], "S4": [D("-400.00")]}
    negatives = [line["id"] for line in got if line["kind"] == "TIER_ADJUSTMENT" and line["final_amount"] < 0]
    assert {line["status"] for line in got if line["id"] in negatives} == {"EARNED"}
    assert (await send(client, "POST", f"{COMMISSIONS}/batch-approve", {"ids": negatives}, finance_a)
            ).status_code == 200

    await set_clock(client, auth.admin, "2026-05-03T10:00:00Z")
    await run_job(client, auth.admin, "commissions-earn")
    [s5] = by_order(await lines(client, rm), "S5")
    assert (await client.post(f"{COMMISSIONS}/{s5['id']}/approve", headers=finance_b)).status_code == 200
    apr = await send(client, "POST", f"{COMMISSIONS}/payouts", {"period": "2026-04", "reference": "APR-2026"},
                     finance_a)
    assert (apr.json()["lines"], D(str(apr.json()["total"]))) == (6, D("2235.80")), apr.text

    got = await lines(client, rm)
    assert {line["status"] for line in got} == {"PAID"}
    assert sum(D(str(line["final_amount"])) for line in got) == D("9850.00")
    report = (await client.get(f"{COMMISSIONS}/payout-report", params={"period": "2026-04"},
                               headers=finance_a)).json()
    assert [(r["paid_amount"], r["payout_references"]) for r in report["rows"]] == [(2235.8, ["APR-2026"])]
    paid = await events(engine, type="sales.commission.paid")
    assert len(paid) == 14 and sum(e.envelope["data"]["amount"] for e in paid) == D("9850.00")
    summary = (await client.get(f"{COMMISSIONS}/rm/{who['rm_id']}/summary", headers=rm)).json()
    assert (summary["this_year"]["paid"], summary["this_year"]["pending"]) == (9850.0, 0)
    async with engine.connect() as conn:

        assert await assert_outbox_valid(conn) == 14 + 9   # 14 paid; 9 earned (8 March lines, S5)
