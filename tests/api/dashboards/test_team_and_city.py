"""GET /dashboards/team/{team_id} and /dashboards/city/{city} (issue 18, PRD §9.1, §9.3) against a hand-computed
data set (now = 2026-01-20T10:00:00Z, January in Bangalore)."""
from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import update

from sales.pipelines.models import sales_pipelines
from tests.api.dashboards.helpers import DASHBOARDS, allocation, commission_line, customer_pipeline, upsell
from tests.api.targets.helpers import pipeline, sell, start, team_of
from tests.builders import make_team

JANUARY = {"period_type": "MONTHLY", "period_start": "2026-01-01"}


def kpi(body, name):
    found = body["kpis"][name]
    return (None if found["value"] is None else Decimal(str(found["value"])), found["target"], found["met"])


@pytest.fixture
async def world(client, auth, engine):
    plan = await start(client, auth)
    team, [priya, arjun] = await team_of(client, auth.admin, "Priya Patel", "Arjun Rao")
    other_team, [meera] = await team_of(client, auth.admin, "Meera Iyer")
    pune_team, _ = await team_of(client, auth.admin, "Ravi Kumar", city="Pune")
    for rm, minutes in ((priya, (10, 50)), (arjun, (20, None))):
        for day, wait in zip(("05", "06"), minutes, strict=True):
            await allocation(engine, rm_id=rm["id"], allocated_at=f"2026-01-{day}T09:00:00Z",
                             sla_deadline=f"2026-01-{day}T09:30:00Z",
                             first_action_at=f"2026-01-{day}T09:{wait:02d}:00Z" if wait else None)
    # created 2026-01-01T00:00Z (the builder's): won after 10 and 15.5 days
    await pipeline(engine, rm_id=priya["id"], moves=[("CLOSED_WON", "2026-01-11T00:00:00Z")], deal_value="9000.00")
    await pipeline(engine, rm_id=arjun["id"], moves=[("CLOSED_WON", "2026-01-16T12:00:00Z")], deal_value="6000.00")
    stuck = await pipeline(engine, rm_id=priya["id"], moves=[("NEGOTIATION", "2026-01-10T10:00:00Z")],
                           deal_value="50000.00")
    async with engine.begin() as conn:
        await conn.execute(update(sales_pipelines).where(sales_pipelines.c.id == stuck)
                           .values(expected_close_date=date(2026, 1, 15)))
    await pipeline(engine, rm_id=priya["id"], moves=[("NEW", "2026-01-18T10:00:00Z")])
    await pipeline(engine, rm_id=arjun["id"], moves=[("NEW", "2026-01-19T10:00:00Z")])
    for disputed in (False, False, True):
        await commission_line(engine, rm_id=priya["id"], status="EARNED", amount="100.00", disputed=disputed)
    await sell(client, auth, plan, rm_id=priya["id"], amount="3000.00", paid_at="2026-01-08T10:00:00Z")
    await sell(client, auth, plan, rm_id=arjun["id"], amount="1500.00", paid_at="2026-01-09T10:00:00Z")
    return {"team": team, "priya": priya, "arjun": arjun, "other_team": other_team, "meera": meera,
            "pune_team": pune_team}


async def test_team_kpis_funnel_health_and_workload_are_exact(client, auth, world):
    response = await client.get(f"{DASHBOARDS}/team/{world['team']['id']}",
                                headers=auth.supervisor(uuid.UUID(world["team"]["id"])), params=JANUARY)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["members"], body["period_end"]) == (2, "2026-01-31")
    assert kpi(body, "lead_to_close_percentage") == (Decimal("50.00"), "> 15", True)  # 2 won / 4 allocated
    assert kpi(body, "deal_cycle_days") == (Decimal("12.75"), "< 14", True)  # (10 + 15.5) / 2
    assert kpi(body, "sla_compliance_percentage") == (Decimal("50.00"), "> 95", False)  # 2 of 4
    assert kpi(body, "lead_response_minutes") == (Decimal("20.00"), "< 30", True)  # median of 10, 50, 20
    assert kpi(body, "rm_utilization_percentage") == (Decimal("6.00"), "70-85", False)  # 3 open / 50 capacity
    assert kpi(body, "workload_variance_percentage") == (Decimal("33.33"), "< 15", False)  # loads 2, 1
    assert kpi(body, "commission_accuracy_percentage") == (Decimal("66.67"), "> 99", False)  # 1 of 3 disputed
    assert kpi(body, "refund_rate_percentage") == (Decimal("0.00"), "< 3", True)  # 0 of 2 orders
    assert kpi(body, "forecast_accuracy_percentage") == (None, "> 80", None)  # nothing won Jul-Dec 2025
    upsell = body["kpis"]["upsell_conversion_percentage"]
    assert upsell["value"] is None and upsell["met"] is None and upsell["reason"]
    funnel = {f["stage"]: f["count"] for f in body["funnel"]}
    assert (funnel["NEW"], funnel["NEGOTIATION"], funnel["CLOSED_WON"], funnel["CONTACTED"]) == (2, 1, 2, 0)
    health = body["pipeline_health"]
    stages = {s["stage"]: (s["count"], s["average_age_days"] and Decimal(str(s["average_age_days"])), s["stuck"])
              for s in health["stages"]}
    assert stages["NEGOTIATION"] == (1, Decimal("10.00"), 1) and stages["NEW"] == (2, Decimal("1.50"), 0)
    assert stages["CONTACTED"] == (0, None, 0)
    assert (health["stuck_after_days"], health["stuck"], health["overdue_expected_close"]) == (7, 1, 1)
    assert [(m["rm_name"], m["open_pipelines"], m["capacity"], Decimal(str(m["utilization_percentage"])))
            for m in body["workload"]] == [("Arjun Rao", 1, 25, Decimal("4.00")), ("Priya Patel", 2, 25, Decimal("8.00"))]


async def test_city_pools_every_rm_of_the_city(client, auth, world):
    response = await client.get(f"{DASHBOARDS}/city/BANGALORE", headers=auth.admin, params=JANUARY)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["scope_id"], body["members"]) == ("Bangalore", 3)
    assert kpi(body, "rm_utilization_percentage") == (Decimal("4.00"), "70-85", False)  # 3 / 75
    assert kpi(body, "workload_variance_percentage") == (Decimal("81.65"), "< 15", False)  # sd(2, 1, 0) / 1
    assert kpi(body, "lead_to_close_percentage") == (Decimal("50.00"), "> 15", True)


async def test_upsell_conversion_credits_the_rm_who_owned_the_customer_then(client, auth, engine, world):
    """PRD §9.1 upsell conversion (% of presentations that convert, > 5%): an upsell counts for the RM of the
    user's latest pipeline created at or before it was presented; none then, nobody's."""
    users = {name: uuid.uuid4() for name in ("u1", "u2", "u3", "u4", "u5", "u6")}
    for user, rm, created in (("u1", "priya", "2026-01-01"), ("u2", "arjun", "2026-01-01"),
                              ("u3", "meera", "2026-01-01"), ("u5", "priya", "2026-01-15"),
                              ("u6", "arjun", "2026-01-02"), ("u6", "meera", "2026-01-12")):
        await customer_pipeline(engine, rm_id=world[rm]["id"], customer_id=users[user],
                                created_at=f"{created}T08:00:00Z")
    for user, presented, converted in (
            ("u1", "2026-01-05", True), ("u1", "2026-01-06", False),  # priya's: 1 of 2
            ("u2", "2026-01-07", True), ("u2", "2025-12-20", True),  # arjun's; December's is another period
            ("u3", "2026-01-08", True),  # meera's: other team, same city
            ("u4", "2026-01-08", True),  # no pipeline: nobody's
            ("u5", "2026-01-10", True),  # presented before the user's pipeline existed: nobody's
            ("u6", "2026-01-10", True),  # arjun owned u6 then
            ("u6", "2026-01-13", False)):  # meera did by then
        await upsell(engine, user_id=users[user], presented_at=f"{presented}T09:00:00Z", converted=converted)
    team = (await client.get(f"{DASHBOARDS}/team/{world['team']['id']}", headers=auth.admin, params=JANUARY)).json()
    assert kpi(team, "upsell_conversion_percentage") == (Decimal("75.00"), "> 5", True)  # 3 of u1 x2, u2, u6
    city = (await client.get(f"{DASHBOARDS}/city/Bangalore", headers=auth.admin, params=JANUARY)).json()
    assert kpi(city, "upsell_conversion_percentage") == (Decimal("66.67"), "> 5", True)  # + u3, u6 later: 4 of 6


async def test_a_kpi_without_data_is_null_with_a_reason(client, auth, world):
    empty = await make_team(client, auth.admin, city="Pune")  # no member: no capacity, no facts
    response = await client.get(f"{DASHBOARDS}/team/{empty['id']}", headers=auth.admin, params=JANUARY)
    assert response.status_code == 200, response.text
    assert response.json()["members"] == 0
    for name, found in response.json()["kpis"].items():
        assert found["value"] is None and found["met"] is None and found["reason"], name


async def test_access_401_403_404(client, auth, world):
    team_path, city_path = f"{DASHBOARDS}/team/{world['team']['id']}", f"{DASHBOARDS}/city/Bangalore"
    for path in (team_path, city_path):
        assert (await client.get(path)).status_code == 401
        for role in ("RM", "FINANCE_ADMIN", "CUSTOMER"):
            assert (await client.get(path, headers=auth.headers(role))).status_code == 403, (path, role)
    other = auth.supervisor(uuid.UUID(world["other_team"]["id"]))
    assert (await client.get(team_path, headers=other)).status_code == 404
    assert (await client.get(city_path, headers=other)).status_code == 200  # their team is in Bangalore
    pune = auth.supervisor(uuid.UUID(world["pune_team"]["id"]))
    assert (await client.get(city_path, headers=pune)).status_code == 404
    assert (await client.get(f"{DASHBOARDS}/city/Atlantis", headers=auth.admin)).status_code == 404
    assert (await client.get(f"{DASHBOARDS}/team/{uuid.uuid4()}", headers=auth.admin)).status_code == 404


@pytest.mark.parametrize(("params", "field"), [
    ({"period_type": "QUARTERLY", "period_start": "2026-02-01"}, "period_start"),
    ({"period_type": "HOURLY"}, "period_type"),
])
async def test_bad_input_is_422_naming_the_field(client, auth, world, params, field):
    for path in (f"{DASHBOARDS}/team/{world['team']['id']}", f"{DASHBOARDS}/city/Bangalore"):
        response = await client.get(path, headers=auth.admin, params=params)
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["loc"] == ["query", field]
