"""Each metric's achievement measured from the facts of the period (issue 13), exact to the paisa."""
from __future__ import annotations

from decimal import Decimal

from tests.api.targets.helpers import allocation, csat, get, pipeline, sell, start, target, team_of
from tests.commerce_builders import send
from tests.commission_builders import refund, sell as sold_by, seller


async def test_revenue_counts_orders_sold_and_deals_won_without_an_order_once(client, auth, engine):
    plan = await start(client, auth)
    _, [priya] = await team_of(client, auth.admin, "Priya Patel")
    goal = await target(client, auth.admin, priya["id"], target_value=Decimal("10000.00"))
    await sell(client, auth, plan, rm_id=priya["id"], amount="1499.00", paid_at="2026-01-05T10:00:00Z")
    await sell(client, auth, plan, rm_id=priya["id"], amount="2999.50", paid_at="2026-01-31T23:59:59Z")
    await sell(client, auth, plan, rm_id=priya["id"], amount="5000.00", paid_at="2026-02-01T00:00:00Z")  # next month
    await sell(client, auth, plan, rm_id=None, amount="7000.00", paid_at="2026-01-06T10:00:00Z")  # nobody's
    await pipeline(engine, rm_id=priya["id"], deal_value="3333.33", moves=[("CLOSED_WON", "2026-01-10T10:00:00Z")])
    sold = await pipeline(engine, rm_id=priya["id"], deal_value="9999.00",
                          moves=[("CLOSED_WON", "2026-01-11T10:00:00Z")])
    await sell(client, auth, plan, rm_id=priya["id"], amount="1000.00", paid_at="2026-01-11T10:00:00Z",
               pipeline_id=str(sold))  # the order of that deal: counted once, as the order
    body = await get(client, auth.admin, goal["id"])
    assert Decimal(str(body["achieved_value"])) == Decimal("8831.83")  # 1499 + 2999.50 + 3333.33 + 1000
    assert Decimal(str(body["achievement_percentage"])) == Decimal("88.32")  # 88.3183 half-up
    assert body["status"] == "ACTIVE"


async def test_deals_closed_and_visits_scheduled_count_moves_into_the_stage_in_the_period(client, auth, engine):
    await start(client, auth)
    _, [priya] = await team_of(client, auth.admin, "Priya Patel")
    deals = await target(client, auth.admin, priya["id"], metric_type="DEALS_CLOSED", target_value=Decimal("3"))
    visits = await target(client, auth.admin, priya["id"], metric_type="VISITS_SCHEDULED", period_type="WEEKLY",
                          period_start="2026-01-12", target_value=Decimal("2"))
    await pipeline(engine, rm_id=priya["id"], moves=[("VISIT_SCHEDULED", "2026-01-12T00:00:00Z"),
                                                     ("CLOSED_WON", "2026-01-14T10:00:00Z")])
    await pipeline(engine, rm_id=priya["id"], moves=[("VISIT_SCHEDULED", "2026-01-18T23:59:59Z"),
                                                     ("CLOSED_LOST", "2026-01-19T10:00:00Z")])
    await pipeline(engine, rm_id=priya["id"], moves=[("VISIT_SCHEDULED", "2026-01-19T00:00:00Z")])  # next week
    await pipeline(engine, rm_id=priya["id"], moves=[("CLOSED_WON", "2025-12-31T23:59:59Z")])  # last month
    body = await get(client, auth.admin, deals["id"])
    assert (Decimal(str(body["achieved_value"])), Decimal(str(body["achievement_percentage"]))) == (
        Decimal("1.00"), Decimal("33.33"))
    body = await get(client, auth.admin, visits["id"])
    assert (Decimal(str(body["achieved_value"])), body["status"]) == (Decimal("2.00"), "ACHIEVED")
    assert Decimal(str(body["achievement_percentage"])) == Decimal("100.00")


async def test_leads_contacted_counts_first_actions_in_the_period(client, auth, engine):
    await start(client, auth)
    _, [priya] = await team_of(client, auth.admin, "Priya Patel")
    goal = await target(client, auth.admin, priya["id"], metric_type="LEADS_CONTACTED", period_type="DAILY",
                        period_start="2026-01-15", target_value=Decimal("3"))
    await allocation(engine, rm_id=priya["id"], allocated_at="2026-01-15T09:00:00Z",
                     first_action_at="2026-01-15T09:05:00Z")
    await allocation(engine, rm_id=priya["id"], allocated_at="2026-01-14T20:00:00Z",
                     first_action_at="2026-01-15T08:00:00Z")
    await allocation(engine, rm_id=priya["id"], allocated_at="2026-01-15T10:00:00Z")  # not acted on
    await allocation(engine, rm_id=priya["id"], allocated_at="2026-01-15T23:00:00Z",
                     first_action_at="2026-01-16T00:00:00Z")  # the next day
    body = await get(client, auth.admin, goal["id"])
    assert (Decimal(str(body["achieved_value"])), Decimal(str(body["achievement_percentage"]))) == (
        Decimal("2.00"), Decimal("66.67"))


async def test_conversion_rate_is_deals_won_over_leads_allocated_in_the_period(client, auth, engine):
    await start(client, auth)
    _, [priya] = await team_of(client, auth.admin, "Priya Patel")
    goal = await target(client, auth.admin, priya["id"], metric_type="CONVERSION_RATE", target_value=Decimal("40"))
    for day in ("03", "04", "05"):
        await allocation(engine, rm_id=priya["id"], allocated_at=f"2026-01-{day}T09:00:00Z")
    await allocation(engine, rm_id=priya["id"], allocated_at="2025-12-20T09:00:00Z")  # outside
    await pipeline(engine, rm_id=priya["id"], moves=[("CLOSED_WON", "2026-01-09T10:00:00Z")])
    body = await get(client, auth.admin, goal["id"])
    assert Decimal(str(body["achieved_value"])) == Decimal("33.33")  # 1 / 3 x 100
    assert Decimal(str(body["achievement_percentage"])) == Decimal("83.33")  # 33.33 / 40


async def test_conversion_rate_without_allocations_is_zero(client, auth, engine):
    await start(client, auth)
    _, [priya] = await team_of(client, auth.admin, "Priya Patel")
    goal = await target(client, auth.admin, priya["id"], metric_type="CONVERSION_RATE", target_value=Decimal("40"))
    await pipeline(engine, rm_id=priya["id"], moves=[("CLOSED_WON", "2026-01-09T10:00:00Z")])
    body = await get(client, auth.admin, goal["id"])
    assert (Decimal(str(body["achieved_value"])), body["status"]) == (Decimal("0.00"), "ACTIVE")


async def test_upsell_conversions_count_upsold_orders_of_the_rm(client, auth):
    plan = await start(client, auth)
    _, [priya] = await team_of(client, auth.admin, "Priya Patel")
    goal = await target(client, auth.admin, priya["id"], metric_type="UPSELL_CONVERSIONS", target_value=Decimal("4"))
    for upsell, when in ((True, "2026-01-05T10:00:00Z"), (True, "2026-01-06T10:00:00Z"),
                         (False, "2026-01-07T10:00:00Z"), (True, "2026-02-01T10:00:00Z")):
        extra = {"upsell_id": str(__import__("uuid").uuid4())} if upsell else {}
        await sell(client, auth, plan, rm_id=priya["id"], amount="1499.00", paid_at=when, **extra)
    body = await get(client, auth.admin, goal["id"])
    assert (Decimal(str(body["achieved_value"])), Decimal(str(body["achievement_percentage"]))) == (
        Decimal("2.00"), Decimal("50.00"))


async def test_customer_satisfaction_is_the_mean_score_of_the_period(client, auth):
    await start(client, auth)
    _, [priya] = await team_of(client, auth.admin, "Priya Patel")
    goal = await target(client, auth.admin, priya["id"], metric_type="CUSTOMER_SATISFACTION",
                        target_value=Decimal("4.50"))
    for score, when in (("5", "2026-01-03T10:00:00Z"), ("4", "2026-01-04T10:00:00Z"),
                        ("4.5", "2026-01-05T10:00:00Z"), ("1", "2026-02-05T10:00:00Z")):
        assert await csat(client, auth, rm_id=priya["id"], score=score, when=when) == "PROCESSED"
    body = await get(client, auth.admin, goal["id"])
    assert (Decimal(str(body["achieved_value"])), Decimal(str(body["achievement_percentage"])), body["status"]) == (
        Decimal("4.50"), Decimal("100.00"), "ACHIEVED")


async def test_a_csat_score_out_of_range_is_parked(client, auth):
    await start(client, auth)
    _, [priya] = await team_of(client, auth.admin, "Priya Patel")
    from tests.commerce_builders import deliver, event
    outcome = await deliver(client, auth, event("crm.csat.recorded", {"rm_id": priya["id"], "score": 11,
                                                                      "at": "2026-01-03T10:00:00Z"}, valid=False))
    assert outcome[0]["status"] == "PARKED"


async def test_revenue_is_net_of_refunds_within_45_days_and_of_cancelled_orders(client, auth):
    """The one revenue definition (shared with the CMR-003 commission tiers): a refund completed within 45 days of
    the sale (CMR-002's clawback window, day 45 inclusive) reduces the revenue; a later one does not; a cancelled
    order counts nothing."""
    await start(client, auth, now="2026-03-01T00:00:00Z")
    who = await seller(client, auth)
    goal = await target(client, auth.admin, who["rm_id"], target_value=Decimal("10000.00"))
    first = await sold_by(client, auth, who, "3000.00", "2026-01-05T10:00:00Z")
    second = await sold_by(client, auth, who, "2000.00", "2026-01-06T10:00:00Z")
    await refund(client, auth, first, "1000.00", "2026-02-19T10:00:00Z")    # day 45 exactly: counts
    await refund(client, auth, second, "500.00", "2026-02-20T10:00:01Z")    # day 46: does not
    cancelled = await sold_by(client, auth, who, "700.00", "2026-01-07T10:00:00Z")
    assert Decimal(str((await get(client, auth.admin, goal["id"]))["achieved_value"])) == Decimal("4700.00")
    order = (await client.get(f"/api/v1/sales/orders/{cancelled}", headers=auth.headers("SERVICE"))).json()
    backfill = {k: order[k] for k in ("payment_id", "user_id", "user_type", "plan_id", "currency", "paid_at",
                                      "rm_id")}
    response = await send(client, "PUT", f"/api/v1/sales/orders/{cancelled}",
                          {**backfill, "amount": Decimal("700.00"), "status": "CANCELLED"}, auth.headers("SERVICE"))
    assert response.status_code == 200, response.text
    assert Decimal(str((await get(client, auth.admin, goal["id"]))["achieved_value"])) == Decimal("4000.00")
