"""One definition of an RM's monthly revenue achievement (issue 13): the MONTHLY REVENUE target's achieved value
and the commission tiers (CMR-003) are the same figure - orders sold by the RM (any transaction type, with or
without a commission plan) net of refunds completed within 45 days of the sale (CMR-002), plus CLOSED_WON deal
values no order names - measured over the same month (the RM's city's calendar month)."""
from __future__ import annotations

from decimal import Decimal

from tests.allocation_builders import set_clock
from tests.api.targets.helpers import get, target
from tests.builders import API
from tests.commission_builders import commission_plan, lines, refund, revenue_target, sell, seller, tiered

D = Decimal


async def figures(client, auth, target_id: str) -> tuple[Decimal, Decimal, str]:  # type: ignore[no-untyped-def]
    body = await get(client, auth.admin, str(target_id))
    return D(str(body["achieved_value"])), D(str(body["achievement_percentage"])), body["status"]


def ledger(got: list[dict]) -> list[tuple[str, float, float]]:
    return [(line["kind"], line["commission_rate"], line["final_amount"]) for line in got]


async def test_cmr_003_a_sale_and_a_refund_move_the_target_and_the_tier_together_to_the_paisa(client, auth, engine):
    """Target 10,000.00; tiers 5 % / 7 % from 100 % / 10 % from 120 %. Hand-computed:

    | step                              | revenue   | target %  | lines written                                |
    |-----------------------------------|-----------|-----------|----------------------------------------------|
    | S1 6,000.00 SUBSCRIPTION_NEW      | 6,000.00  | 60.00     | S1 300.00 (5 %)                              |
    | S2 4,000.00 SERVICE_BOOKING (no plan) | 10,000.00 | 100.00 | S1 tier adj. +120.00 (7 %)                  |
    | S3 2,000.00 SUBSCRIPTION_NEW      | 12,000.00 | 120.00    | S3 200.00 (10 %); S1 +180.00 (10 %)          |
    | refund 500.00 of S3 on day 5      | 11,500.00 | 115.00    | S3 share -50.00; S1 -180.00; S3 -45.00 (7 %) |
    | full refund of S2 on day 46       | 11,500.00 | 115.00    | none (outside CMR-002's 45 days)             |

    Commission: (6,000 + 1,500 kept of S3) x 7 % = 525.00."""
    who = await seller(client, auth)
    await commission_plan(client, auth.headers("FINANCE_ADMIN"), **tiered())
    goal = await revenue_target(engine, who["rm_id"], "10000.00")
    await set_clock(client, auth.admin, "2026-01-05T11:00:00Z")
    await sell(client, auth, who, "6000.00", "2026-01-05T10:00:00Z")
    assert await figures(client, auth, goal) == (D("6000.00"), D("60.00"), "ACTIVE")
    assert ledger(await lines(client, who["headers"])) == [("SALE", 5.0, 300.0)]

    await set_clock(client, auth.admin, "2026-01-06T11:00:00Z")
    s2 = await sell(client, auth, who, "4000.00", "2026-01-06T10:00:00Z", transaction_type="SERVICE_BOOKING")
    assert await figures(client, auth, goal) == (D("10000.00"), D("100.00"), "ACHIEVED")
    got = await lines(client, who["headers"])
    assert ledger(got) == [("SALE", 5.0, 300.0), ("TIER_ADJUSTMENT", 7.0, 120.0)]
    assert got[1]["explanation"]["inputs"]["achievement_percentage"] == 100.0
    assert got[1]["explanation"]["inputs"]["month_revenue"] == 10000.0

    await set_clock(client, auth.admin, "2026-01-07T11:00:00Z")
    s3 = await sell(client, auth, who, "2000.00", "2026-01-07T10:00:00Z")
    assert await figures(client, auth, goal) == (D("12000.00"), D("120.00"), "ACHIEVED")
    got = await lines(client, who["headers"])
    assert ledger(got)[2:] == [("SALE", 10.0, 200.0), ("TIER_ADJUSTMENT", 10.0, 180.0)]
    assert got[2]["explanation"]["inputs"]["achievement_percentage"] == 120.0

    await set_clock(client, auth.admin, "2026-01-12T10:00:00Z")
    await refund(client, auth, s3, "500.00", "2026-01-12T10:00:00Z")
    assert await figures(client, auth, goal) == (D("11500.00"), D("115.00"), "ACHIEVED")
    got = await lines(client, who["headers"])
    assert sorted(ledger(got)[4:]) == sorted([("PARTIAL_CLAWBACK", 10.0, -50.0), ("TIER_ADJUSTMENT", 7.0, -180.0),
                                              ("TIER_ADJUSTMENT", 7.0, -45.0)])
    assert all(line["explanation"]["inputs"]["achievement_percentage"] == 115.0
               for line in got[4:] if line["kind"] == "TIER_ADJUSTMENT")
    assert sum(D(str(line["final_amount"])) for line in got) == D("525.00")

    await set_clock(client, auth.admin, "2026-02-21T10:00:00Z")
    await refund(client, auth, s2, "4000.00", "2026-02-21T10:00:00Z")           # day 46 of S2
    assert await figures(client, auth, goal) == (D("11500.00"), D("115.00"), "ACHIEVED")
    assert len(await lines(client, who["headers"])) == 7


async def test_the_month_is_the_rms_city_month_for_the_target_and_the_ledger(client, auth):
    """A sale at 31 Jan 18:30 UTC is 1 Feb 00:00 in Bangalore (Asia/Kolkata): February's revenue for the
    target and a 2026-02 line, tiered on February's achievement."""
    rules = await client.put(f"{API}/allocations/rules", headers=auth.admin,
                             json={"city": "Bangalore", "rules": {"timezone": "Asia/Kolkata"}})
    assert rules.status_code == 200, rules.text
    who = await seller(client, auth)
    await commission_plan(client, auth.headers("FINANCE_ADMIN"), **tiered())
    await set_clock(client, auth.admin, "2026-01-31T19:00:00Z")
    january = await target(client, auth.admin, who["rm_id"], target_value=D("1000.00"))
    february = await target(client, auth.admin, who["rm_id"], period_start="2026-02-01", target_value=D("1000.00"))
    await sell(client, auth, who, "999.99", "2026-01-31T18:29:59Z")             # 31 Jan 23:59:59 there
    await sell(client, auth, who, "1000.00", "2026-01-31T18:30:00Z")            # 1 Feb 00:00 there
    assert await figures(client, auth, january["id"]) == (D("999.99"), D("100.00"), "ACTIVE")   # 99.999 %
    assert await figures(client, auth, february["id"]) == (D("1000.00"), D("100.00"), "ACHIEVED")
    got = await lines(client, who["headers"])
    assert sorted((line["period"], line["commission_rate"], line["final_amount"]) for line in got) == [
        ("2026-01", 5.0, 50.0), ("2026-02", 7.0, 70.0)]
