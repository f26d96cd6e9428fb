"""GET /dashboards/forecast (issue 18) against a hand-computed history (now = 2026-01-20T10:00:00Z, Bangalore)."""
from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from tests.api.dashboards.helpers import DASHBOARDS, journey
from tests.api.targets.helpers import start, team_of

FORECAST = f"{DASHBOARDS}/forecast"


def money(value) -> Decimal:
    return Decimal(str(value))


@pytest.fixture
async def world(client, auth, engine):
    await start(client, auth)
    team, [priya] = await team_of(client, auth.admin, "Priya Patel")
    other_team, _ = await team_of(client, auth.admin, "Meera Iyer", city="Pune")
    for i in range(5):  # June 2025: 3 of 5 won, each 10 days after reaching NEGOTIATION
        await journey(engine, rm_id=priya["id"], created_at="2025-06-01T05:00:00Z", deal_value="1000.00",
                      moves=[("NEGOTIATION", "2025-06-02T05:00:00Z"),
                             ("CLOSED_WON" if i < 3 else "CLOSED_LOST", "2025-06-12T05:00:00Z")])
    await journey(engine, rm_id=priya["id"], created_at="2025-11-20T05:00:00Z", deal_value="10000.00",
                  moves=[("NEGOTIATION", "2025-11-25T05:00:00Z"), ("CLOSED_WON", "2025-12-05T05:00:00Z")])
    await journey(engine, rm_id=priya["id"], created_at="2026-01-02T05:00:00Z", deal_value="7000.00",
                  moves=[("NEGOTIATION", "2026-01-03T05:00:00Z"), ("CLOSED_WON", "2026-01-10T05:00:00Z")])
    await journey(engine, rm_id=priya["id"], created_at="2026-01-14T05:00:00Z", deal_value="50000.00",
                  moves=[("NEGOTIATION", "2026-01-15T05:00:00Z")])  # open now
    return {"team": team, "other_team": other_team}


async def test_forecast_and_backtest_are_exact(client, auth, world):
    response = await client.get(FORECAST, headers=auth.supervisor(uuid.UUID(world["team"]["id"])),
                                params={"scope": "team", "scope_id": world["team"]["id"]})
    assert response.status_code == 200, response.text
    body = response.json()
    # learned now: NEGOTIATION 5 won of 7 closed, every win within 10 days (< the 11+ days left in January)
    # open: 50000 x 5/7 = 35714.29; margin 1.96 x sqrt(50000^2 x 5/7 x 2/7) = 44271.89
    for key, (first, last) in (("month", ("2026-01-01", "2026-01-31")), ("quarter", ("2026-01-01", "2026-03-31"))):
        figures = body[key]
        assert (figures["period_start"], figures["period_end"]) == (first, last)
        assert (money(figures["won_to_date"]), money(figures["expected_from_open"]), money(figures["expected_total"]),
                money(figures["low"]), money(figures["high"]), figures["open_pipelines"]) == (
            Decimal("7000.00"), Decimal("35714.29"), Decimal("42714.29"), Decimal("7000.00"), Decimal("86986.17"), 1)
    backtest = body["backtest"]
    assert [b["period_start"] for b in backtest] == ["2025-07-01", "2025-08-01", "2025-09-01", "2025-10-01",
                                                     "2025-11-01", "2025-12-01"]
    december = backtest[-1]  # at 1 Dec: 3 of 5 won (June) -> 10000 x 0.6 = 6000 forecast, 10000 won
    assert (money(december["forecast"]), money(december["actual"]), money(december["accuracy_percentage"])) == (
        Decimal("6000.00"), Decimal("10000.00"), Decimal("60.00"))
    assert all(b["accuracy_percentage"] is None for b in backtest[:-1])  # nothing won, nothing to compare
    assert (money(body["backtest_accuracy_percentage"]), body["accuracy_target"], body["accuracy_met"]) == (
        Decimal("60.00"), "> 80", False)


async def test_quarterly_backtest_and_city_scope(client, auth, world):
    response = await client.get(FORECAST, headers=auth.admin,
                                params={"scope": "city", "scope_id": "bangalore", "period": "QUARTERLY"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["scope_id"] == "Bangalore" and body["backtest_period_type"] == "QUARTERLY"
    assert [b["period_start"] for b in body["backtest"]][-2:] == ["2025-07-01", "2025-10-01"]
    q4 = body["backtest"][-1]  # at 1 Oct nothing open; 10000 won in December
    assert (money(q4["forecast"]), money(q4["actual"]), money(q4["accuracy_percentage"])) == (
        Decimal("0.00"), Decimal("10000.00"), Decimal("0.00"))


async def test_a_scope_without_history_forecasts_zero_with_no_accuracy(client, auth, world):
    response = await client.get(FORECAST, headers=auth.admin,
                                params={"scope": "team", "scope_id": world["other_team"]["id"]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert money(body["month"]["expected_total"]) == Decimal("0.00") and body["month"]["open_pipelines"] == 0
    assert body["backtest_accuracy_percentage"] is None and body["accuracy_met"] is None


async def test_access_401_403_404(client, auth, world):
    params = {"scope": "team", "scope_id": world["team"]["id"]}
    assert (await client.get(FORECAST, params=params)).status_code == 401
    for role in ("RM", "FINANCE_ADMIN", "CUSTOMER"):
        assert (await client.get(FORECAST, headers=auth.headers(role), params=params)).status_code == 403, role
    other = auth.supervisor(uuid.UUID(world["other_team"]["id"]))
    assert (await client.get(FORECAST, headers=other, params=params)).status_code == 404
    assert (await client.get(FORECAST, headers=other, params={"scope": "city", "scope_id": "Bangalore"})
            ).status_code == 404
    assert (await client.get(FORECAST, headers=auth.admin, params={"scope": "team", "scope_id": str(uuid.uuid4())})
            ).status_code == 404


@pytest.mark.parametrize(("params", "field"), [
    ({"scope": "team", "scope_id": "not-a-uuid"}, "scope_id"),
    ({"scope": "zone", "scope_id": "x"}, "scope"),
    ({"scope": "city", "scope_id": "Bangalore", "period": "WEEKLY"}, "period"),
    ({"scope": "city"}, "scope_id"),
])
async def test_bad_input_is_422_naming_the_field(client, auth, world, params, field):
    response = await client.get(FORECAST, headers=auth.admin, params=params)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["query", field]


async def test_the_team_dashboard_shows_the_backtested_forecast_accuracy(client, auth, world):
    response = await client.get(f"{DASHBOARDS}/team/{world['team']['id']}", headers=auth.admin)
    assert response.status_code == 200, response.text
    found = response.json()["kpis"]["forecast_accuracy_percentage"]
    assert (money(found["value"]), found["target"], found["met"]) == (Decimal("60.00"), "> 80", False)
