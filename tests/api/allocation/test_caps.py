"""Issue 17: daily and weekly caps per RM (own, team default, city default), counted in the city's time zone
(the day from the city's midnight, the week from Monday); an RM at a cap is excluded with that reason."""
from __future__ import annotations

import uuid

from tests.allocation_builders import allocate, set_clock
from tests.api.allocation.helpers import allocated, get_rm
from tests.builders import API, make_rm, make_team
from tests.checks import assert_problem


async def _rules(client, admin, **values):  # type: ignore[no-untyped-def]
    response = await client.put(f"{API}/allocations/rules", json={"city": "Bangalore", "rules": {
        "timezone": "Asia/Kolkata", **values}}, headers=admin)
    assert response.status_code == 200, response.text
    return response.json()


def _entry(response, rm):  # type: ignore[no-untyped-def]
    return next(c for c in response.json()["decision"]["candidates"] if c["rm_id"] == rm["id"])


async def test_daily_cap_restarts_at_the_citys_midnight(client, auth):
    await set_clock(client, auth.admin, "2026-01-20T18:29:00Z")  # Tuesday 23:59 in Kolkata (UTC+05:30)
    await _rules(client, auth.admin)
    team = await make_team(client, auth.admin)
    rm = await make_rm(client, auth.admin, team_id=team["id"], max_leads_per_day=2)
    assert rm["max_leads_per_day"] == 2 and rm["max_leads_per_week"] is None
    service = auth.headers("SERVICE")
    for _ in range(2):
        assert (await allocated(client, service))["rm_id"] == rm["id"]
    refused = await allocate(client, service)
    assert refused.status_code == 202, refused.text
    assert _entry(refused, rm)["excluded_by"] == "DAILY_CAP" and "2/2" in _entry(refused, rm)["why"]

    await set_clock(client, auth.admin, "2026-01-20T18:30:00Z")  # Wednesday 00:00 in Kolkata, still the 20th in UTC
    assert (await allocated(client, service))["rm_id"] == rm["id"]
    assert (await get_rm(client, auth.admin, rm["id"]))["active_leads"] == 3


async def test_weekly_city_default_restarts_on_monday_in_the_citys_time_zone(client, auth):
    await set_clock(client, auth.admin, "2026-01-24T10:00:00Z")  # Saturday in Kolkata
    await _rules(client, auth.admin, max_leads_per_week=2)
    team = await make_team(client, auth.admin)
    rm = await make_rm(client, auth.admin, team_id=team["id"])
    service = auth.headers("SERVICE")
    assert (await allocated(client, service))["rm_id"] == rm["id"]
    await set_clock(client, auth.admin, "2026-01-25T18:29:00Z")  # Sunday 23:59 in Kolkata: same week, new day
    assert (await allocated(client, service))["rm_id"] == rm["id"]
    refused = await allocate(client, service)
    assert refused.status_code == 202, refused.text
    assert _entry(refused, rm)["excluded_by"] == "WEEKLY_CAP" and "2/2" in _entry(refused, rm)["why"]

    await set_clock(client, auth.admin, "2026-01-25T18:30:00Z")  # Monday 00:00 in Kolkata (Sunday in UTC)
    assert (await allocated(client, service))["rm_id"] == rm["id"]


async def test_team_default_applies_unless_the_rm_has_own_cap_and_the_workload_shows_both(client, auth):
    await set_clock(client, auth.admin, "2026-01-21T06:00:00Z")  # Wednesday in Kolkata
    team = await make_team(client, auth.admin)
    await _rules(client, auth.admin, max_leads_per_day=9, max_leads_per_week=30,
                 team_caps=[{"team_id": team["id"], "max_leads_per_day": 1}])
    plain = await make_rm(client, auth.admin, team_id=team["id"], name="Team default")
    own = await make_rm(client, auth.admin, team_id=team["id"], name="Own cap", max_leads_per_day=2)
    service = auth.headers("SERVICE")
    received = [(await allocated(client, service))["rm_id"] for _ in range(3)]
    assert sorted(received) == sorted([plain["id"], own["id"], own["id"]])
    refused = await allocate(client, service)
    assert refused.status_code == 202
    assert {_entry(refused, plain)["excluded_by"], _entry(refused, own)["excluded_by"]} == {"DAILY_CAP"}

    body = (await client.get(f"{API}/allocations/workload", params={"city": "Bangalore"},
                             headers=auth.supervisor(uuid.UUID(team["id"])))).json()
    rows = {r["rm_id"]: r for r in body["rms"]}
    assert (rows[plain["id"]]["max_leads_per_day"], rows[plain["id"]]["max_leads_per_week"]) == (1, 30)
    assert (rows[own["id"]]["max_leads_per_day"], rows[own["id"]]["max_leads_per_week"]) == (2, 30)
    assert rows[own["id"]]["leads_received_this_week"] == 2 and rows[own["id"]]["leads_received_today"] == 2
    assert rows[plain["id"]]["cap_reached"] == rows[own["id"]]["cap_reached"] == "DAILY_CAP"


async def test_a_reached_cap_shows_in_the_workload_as_weekly(client, auth):
    await set_clock(client, auth.admin, "2026-01-21T06:00:00Z")
    await _rules(client, auth.admin)
    team = await make_team(client, auth.admin)
    rm = await make_rm(client, auth.admin, team_id=team["id"], max_leads_per_week=1)
    await allocated(client, auth.headers("SERVICE"))
    [row] = (await client.get(f"{API}/allocations/workload", params={"city": "Bangalore"},
                              headers=auth.admin)).json()["rms"]
    assert (row["rm_id"], row["cap_reached"], row["leads_received_this_week"]) == (rm["id"], "WEEKLY_CAP", 1)
    assert row["max_leads_per_day"] is None and row["max_leads_per_week"] == 1


async def test_caps_are_set_and_cleared_on_the_rm(client, auth):
    team = await make_team(client, auth.admin)
    rm = await make_rm(client, auth.admin, team_id=team["id"])
    response = await client.put(f"{API}/rms/{rm['id']}", json={"max_leads_per_day": 4, "max_leads_per_week": 15},
                                  headers=auth.admin)
    assert response.status_code == 200, response.text
    assert (response.json()["max_leads_per_day"], response.json()["max_leads_per_week"]) == (4, 15)
    cleared = await client.put(f"{API}/rms/{rm['id']}", json={"max_leads_per_day": None}, headers=auth.admin)
    assert (cleared.json()["max_leads_per_day"], cleared.json()["max_leads_per_week"]) == (None, 15)


async def test_a_cap_below_one_is_422_naming_the_field(client, auth):
    team = await make_team(client, auth.admin)
    rm = await make_rm(client, auth.admin, team_id=team["id"])
    response = await client.put(f"{API}/rms/{rm['id']}", json={"max_leads_per_day": 0}, headers=auth.admin)
    assert_problem(response, 422, "validation_error", loc=["body", "max_leads_per_day"])
    assert (await get_rm(client, auth.admin, rm["id"]))["max_leads_per_day"] is None
    bad_rules = await client.put(f"{API}/allocations/rules", json={"city": "Bangalore", "rules": {
        "team_caps": [{"team_id": team["id"], "max_leads_per_week": 0}]}}, headers=auth.admin)
    assert_problem(bad_rules, 422, "invalid_rules")
    assert "max_leads_per_week" in bad_rules.text
