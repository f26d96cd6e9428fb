"""GET /dashboards/rm/{rm_id} (issue 18, US-SALE-040) against a hand-computed data set."""
from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from tests.api.dashboards.helpers import DASHBOARDS, allocation, commission_line
from tests.api.targets.helpers import pipeline, sell, start, target, team_of

JANUARY = {"period_type": "MONTHLY", "period_start": "2026-01-01"}


@pytest.fixture
async def world(client, auth, engine):
    plan = await start(client, auth)  # now = 2026-01-20T10:00:00Z
    team, [priya, arjun] = await team_of(client, auth.admin, "Priya Patel", "Arjun Rao")
    other_team, [meera] = await team_of(client, auth.admin, "Meera Iyer")
    for rm in (priya, arjun):
        await target(client, auth.admin, rm["id"], target_value=Decimal("10000.00"))
    await target(client, auth.admin, priya["id"], metric_type="DEALS_CLOSED", target_value=Decimal("4"))
    await sell(client, auth, plan, rm_id=priya["id"], amount="3000.00", paid_at="2026-01-08T10:00:00Z")
    await sell(client, auth, plan, rm_id=arjun["id"], amount="1500.00", paid_at="2026-01-09T10:00:00Z")
    return {"plan": plan, "team": team, "priya": priya, "arjun": arjun, "other_team": other_team, "meera": meera}


async def test_rm_dashboard_figures_are_exact(client, auth, engine, world):
    priya = world["priya"]
    await sell(client, auth, world["plan"], rm_id=priya["id"], amount="500.00", paid_at="2025-12-10T10:00:00Z")
    for status, amount in (("PENDING", "100.00"), ("EARNED", "50.25"), ("APPROVED", "200.00"), ("PAID", "300.00"),
                           ("DISPUTED", "25.00")):
        await commission_line(engine, rm_id=priya["id"], status=status, amount=amount)
    await commission_line(engine, rm_id=priya["id"], status="APPROVED", amount="999.00", period="2025-12")
    # SLA: 10 min (met), 50 min (missed), 20 min (met), never acted and past (missed), within its deadline (open)
    for day, action in (("05", "09:10"), ("06", "09:50"), ("07", "09:20"), ("08", None)):
        await allocation(engine, rm_id=priya["id"], allocated_at=f"2026-01-{day}T09:00:00Z",
                         sla_deadline=f"2026-01-{day}T09:30:00Z",
                         first_action_at=f"2026-01-{day}T{action}:00Z" if action else None)
    await allocation(engine, rm_id=priya["id"], allocated_at="2026-01-20T09:50:00Z",
                     sla_deadline="2026-01-20T10:20:00Z")
    await allocation(engine, rm_id=priya["id"], allocated_at="2025-12-20T09:00:00Z",
                     sla_deadline="2025-12-20T09:30:00Z", first_action_at="2025-12-20T15:00:00Z")  # other month
    await pipeline(engine, rm_id=priya["id"], moves=[("NEGOTIATION", "2026-01-10T10:00:00Z")], deal_value="50000.00")
    await pipeline(engine, rm_id=priya["id"], moves=[("NEGOTIATION", "2026-01-11T10:00:00Z")], deal_value="25000.50")
    await pipeline(engine, rm_id=priya["id"], moves=[("NEW", "2026-01-12T10:00:00Z")])
    await pipeline(engine, rm_id=priya["id"], moves=[("CLOSED_WON", "2026-01-13T10:00:00Z")], deal_value="9000.00")

    response = await client.get(f"{DASHBOARDS}/rm/{priya['id']}", headers=auth.rm(uuid.UUID(priya["id"])),
                                params=JANUARY)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["rm_name"], body["period_start"], body["period_end"]) == ("Priya Patel", "2026-01-01", "2026-01-31")
    targets = {t["metric_type"]: t for t in body["targets"]}
    revenue, deals = targets["REVENUE"], targets["DEALS_CLOSED"]
    assert (Decimal(str(revenue["achieved_value"])), Decimal(str(revenue["achievement_percentage"])),
            revenue["leaderboard_rank"], revenue["leaderboard_size"]) == (
        Decimal("12000.00"), Decimal("120.00"), 1, 2)  # 3000 sold + 9000 won; arjun: 1500 / 10000 = 15%
    assert (Decimal(str(deals["achieved_value"])), Decimal(str(deals["achievement_percentage"])),
            deals["leaderboard_rank"], deals["leaderboard_size"]) == (Decimal("1.00"), Decimal("25.00"), 1, 1)
    trend = {t["metric_type"]: [(p["period_start"], Decimal(str(p["achieved_value"]))) for p in t["points"]]
             for t in body["trend"]}
    assert list(trend) == ["REVENUE", "DEALS_CLOSED"]
    assert [p[0] for p in trend["REVENUE"]][:2] == ["2025-02-01", "2025-03-01"] and len(trend["REVENUE"]) == 12
    assert trend["REVENUE"][-2:] == [("2025-12-01", Decimal("500.00")), ("2026-01-01", Decimal("12000.00"))]
    assert trend["REVENUE"][0][1] == Decimal("0.00") and trend["DEALS_CLOSED"][-1][1] == Decimal("1.00")
    money = {k: Decimal(str(v)) for k, v in body["commissions"].items()}
    assert money == {"pending": Decimal("150.25"), "approved": Decimal("200.00"), "paid": Decimal("300.00"),
                     "disputed": Decimal("25.00"), "clawed_back": Decimal("0.00")}
    assert (body["sla"]["met"], body["sla"]["decided"], Decimal(str(body["sla"]["compliance_percentage"]))) == (
        2, 4, Decimal("50.00"))
    assert Decimal(str(body["median_response_minutes"])) == Decimal("20.00")  # of 10, 50, 20
    stages = {s["stage"]: (s["count"], Decimal(str(s["deal_value"]))) for s in body["pipeline_by_stage"]}
    assert stages["NEGOTIATION"] == (2, Decimal("75000.50")) and stages["NEW"] == (1, Decimal("0.00"))
    assert stages["CONTACTED"] == (0, Decimal("0.00")) and "CLOSED_WON" not in stages


async def test_an_rm_without_facts_answers_nulls_with_a_reason(client, auth, world):
    arjun = world["arjun"]
    response = await client.get(f"{DASHBOARDS}/rm/{arjun['id']}", headers=auth.admin)  # default: this month
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["period_start"] == "2026-01-01" and body["period_type"] == "MONTHLY"
    assert body["sla"]["compliance_percentage"] is None and body["sla"]["reason"]
    assert body["median_response_minutes"] is None
    assert [t["leaderboard_rank"] for t in body["targets"]] == [2]


async def test_the_supervisor_sees_their_rms_dashboard(client, auth, world):
    response = await client.get(f"{DASHBOARDS}/rm/{world['priya']['id']}",
                                headers=auth.supervisor(uuid.UUID(world["team"]["id"])), params=JANUARY)
    assert response.status_code == 200, response.text


async def test_access_401_403_404(client, auth, world):
    path = f"{DASHBOARDS}/rm/{world['priya']['id']}"
    assert (await client.get(path, params=JANUARY)).status_code == 401
    for role in ("FINANCE_ADMIN", "CUSTOMER", "SUPPORT_AGENT"):
        assert (await client.get(path, headers=auth.headers(role), params=JANUARY)).status_code == 403, role
    for headers in (auth.rm(uuid.UUID(world["arjun"]["id"])), auth.supervisor(uuid.UUID(world["other_team"]["id"]))):
        response = await client.get(path, headers=headers, params=JANUARY)
        assert response.status_code == 404, response.text
    response = await client.get(f"{DASHBOARDS}/rm/{uuid.uuid4()}", headers=auth.admin, params=JANUARY)
    assert response.status_code == 404


@pytest.mark.parametrize(("params", "field"), [
    ({"period_type": "MONTHLY", "period_start": "2026-01-02"}, "period_start"),
    ({"period_type": "WEEKLY", "period_start": "2026-01-01"}, "period_start"),  # a Thursday
    ({"period_type": "YEARLY"}, "period_type"),
    ({"period_start": "January"}, "period_start"),
])
async def test_bad_input_is_422_naming_the_field(client, auth, world, params, field):
    response = await client.get(f"{DASHBOARDS}/rm/{world['priya']['id']}", headers=auth.admin, params=params)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["query", field]
