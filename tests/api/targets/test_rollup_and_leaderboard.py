"""Team and city targets roll up their members; leaderboards rank with shared ranks (issue 13)."""
from __future__ import annotations

import uuid
from decimal import Decimal

from sales.targets.rules import city_id
from tests.api.targets.helpers import TARGETS, allocation, csat, get, pipeline, sell, start, target, team_of
from tests.builders import make_rm


async def test_team_and_city_revenue_sum_their_members(client, auth):
    plan = await start(client, auth)
    team, [priya, arjun] = await team_of(client, auth.admin, "Priya Patel", "Arjun Rao")
    _, [meera] = await team_of(client, auth.admin, "Meera Iyer")  # another team, same city
    _, [ravi] = await team_of(client, auth.admin, "Ravi Kumar", city="Pune")
    team_goal = await target(client, auth.admin, team["id"], target_type="TEAM", target_value=Decimal("5000.00"))
    city_goal = await target(client, auth.admin, None, target_type="CITY", city="bangalore",
                             target_value=Decimal("20000.00"))
    assert city_goal["assignee_id"] == str(city_id("Bangalore")) and city_goal["city"] == "Bangalore"
    for rm, amount in ((priya, "1499.00"), (arjun, "2999.00"), (meera, "4000.00"), (ravi, "9000.00")):
        await sell(client, auth, plan, rm_id=rm["id"], amount=amount, paid_at="2026-01-08T10:00:00Z")
    body = await get(client, auth.admin, team_goal["id"])
    assert (Decimal(str(body["achieved_value"])), Decimal(str(body["achievement_percentage"]))) == (
        Decimal("4498.00"), Decimal("89.96"))
    body = await get(client, auth.admin, city_goal["id"])
    assert (Decimal(str(body["achieved_value"])), Decimal(str(body["achievement_percentage"]))) == (
        Decimal("8498.00"), Decimal("42.49"))


async def test_team_rates_are_pooled_over_the_members(client, auth, engine):
    """CONVERSION_RATE of a team: all deals won / all leads allocated (the members' rates weighted by volume);
    CUSTOMER_SATISFACTION: the mean of every score."""
    await start(client, auth)
    team, [priya, arjun] = await team_of(client, auth.admin, "Priya Patel", "Arjun Rao")
    rate = await target(client, auth.admin, team["id"], target_type="TEAM", metric_type="CONVERSION_RATE",
                        target_value=Decimal("50"))
    score = await target(client, auth.admin, team["id"], target_type="TEAM", metric_type="CUSTOMER_SATISFACTION",
                         target_value=Decimal("4"))
    await allocation(engine, rm_id=priya["id"], allocated_at="2026-01-03T09:00:00Z")  # priya 1 of 1 = 100%
    await pipeline(engine, rm_id=priya["id"], moves=[("CLOSED_WON", "2026-01-09T10:00:00Z")])
    for day in ("03", "04", "05"):  # arjun 0 of 3 = 0%
        await allocation(engine, rm_id=arjun["id"], allocated_at=f"2026-01-{day}T09:00:00Z")
    body = await get(client, auth.admin, rate["id"])
    assert Decimal(str(body["achieved_value"])) == Decimal("25.00")  # 1 / 4, not (100 + 0) / 2
    for rm, value in ((priya, "5"), (arjun, "3"), (arjun, "3")):
        await csat(client, auth, rm_id=rm["id"], score=value, when="2026-01-10T10:00:00Z")
    body = await get(client, auth.admin, score["id"])
    assert (Decimal(str(body["achieved_value"])), Decimal(str(body["achievement_percentage"]))) == (
        Decimal("3.67"), Decimal("91.75"))  # 11 / 3 = 3.666.. -> 3.67; 3.67 / 4


async def test_leaderboard_ranks_by_percentage_then_achieved_and_ties_share_a_rank(client, auth):
    plan = await start(client, auth)
    team, rms = await team_of(client, auth.admin, "Asha", "Bala", "Chitra", "Dev")
    asha, bala, chitra, dev = rms
    goals = {"Asha": "1000.00", "Bala": "1000.00", "Chitra": "2000.00", "Dev": "1000.00"}
    for rm in rms:
        await target(client, auth.admin, rm["id"], target_value=Decimal(goals[rm["name"]]))
    await target(client, auth.admin, bala["id"], metric_type="DEALS_CLOSED", target_value=Decimal("1"))  # other
    for rm, amount in ((asha, "500.00"), (bala, "500.00"), (chitra, "1000.00"), (dev, "900.00")):
        await sell(client, auth, plan, rm_id=rm["id"], amount=amount, paid_at="2026-01-08T10:00:00Z")
    response = await client.get(f"{TARGETS}/leaderboard", headers=auth.admin, params={
        "metric_type": "REVENUE", "period_type": "MONTHLY", "period_start": "2026-01-01", "scope": "team",
        "scope_id": team["id"]})
    assert response.status_code == 200, response.text
    board = response.json()
    assert board["period_end"] == "2026-01-31"
    rows = [(r["rank"], r["rm_name"], Decimal(str(r["achievement_percentage"])), Decimal(str(r["achieved_value"])))
            for r in board["items"]]
    assert rows == [(1, "Dev", Decimal("90.00"), Decimal("900.00")),
                    (2, "Chitra", Decimal("50.00"), Decimal("1000.00")),
                    (3, rows[2][1], Decimal("50.00"), Decimal("500.00")),
                    (3, rows[3][1], Decimal("50.00"), Decimal("500.00"))]
    assert {rows[2][1], rows[3][1]} == {"Asha", "Bala"}
    assert set(board["items"][0]) >= {"rm_id", "rm_name", "target_value", "achieved_value",
                                      "achievement_percentage", "rank"}


async def test_city_leaderboard_by_name_or_id_and_default_period(client, auth):
    plan = await start(client, auth)  # 2026-01-20: the running month is January
    _, [priya] = await team_of(client, auth.admin, "Priya Patel")
    _, [meera] = await team_of(client, auth.admin, "Meera Iyer")
    _, [ravi] = await team_of(client, auth.admin, "Ravi Kumar", city="Pune")
    for rm in (priya, meera, ravi):
        await target(client, auth.admin, rm["id"], target_value=Decimal("1000.00"))
    await sell(client, auth, plan, rm_id=meera["id"], amount="1200.00", paid_at="2026-01-08T10:00:00Z")
    for scope_id in ("BANGALORE", str(city_id("Bangalore"))):
        response = await client.get(f"{TARGETS}/leaderboard", headers=auth.headers("FINANCE_ADMIN"), params={
            "metric_type": "REVENUE", "period_type": "MONTHLY", "scope": "city", "scope_id": scope_id})
        assert response.status_code == 200, response.text
        board = response.json()
        assert (board["period_start"], board["scope_id"]) == ("2026-01-01", "Bangalore")
        assert [(r["rank"], r["rm_name"], r["status"]) for r in board["items"]] == [
            (1, "Meera Iyer", "ACHIEVED"), (2, "Priya Patel", "ACTIVE")]


async def test_team_view_lists_the_team_targets_and_each_members(client, auth):
    await start(client, auth)
    team, [priya, arjun] = await team_of(client, auth.admin, "Priya Patel", "Arjun Rao")
    _, [other] = await team_of(client, auth.admin, "Meera Iyer")
    team_goal = await target(client, auth.admin, team["id"], target_type="TEAM")
    mine = [await target(client, auth.admin, rm["id"]) for rm in (priya, arjun)]
    await target(client, auth.admin, other["id"])
    response = await client.get(f"{TARGETS}/team/{team['id']}", headers=auth.supervisor(uuid.UUID(team["id"])))
    assert response.status_code == 200, response.text
    body = response.json()
    assert [t["id"] for t in body["team_targets"]] == [team_goal["id"]]
    assert {t["id"] for t in body["member_targets"]} == {t["id"] for t in mine}


async def test_a_member_who_joins_counts_for_the_team_they_are_in(client, auth):
    plan = await start(client, auth)
    team, [priya] = await team_of(client, auth.admin, "Priya Patel")
    goal = await target(client, auth.admin, team["id"], target_type="TEAM", target_value=Decimal("1000.00"))
    newcomer = await make_rm(client, auth.admin, team_id=team["id"], name="New Joinee")
    await sell(client, auth, plan, rm_id=newcomer["id"], amount="250.00", paid_at="2026-01-08T10:00:00Z")
    await sell(client, auth, plan, rm_id=priya["id"], amount="250.00", paid_at="2026-01-09T10:00:00Z")
    assert Decimal(str((await get(client, auth.admin, goal["id"]))["achieved_value"])) == Decimal("500.00")
