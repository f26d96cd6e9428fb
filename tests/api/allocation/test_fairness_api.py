"""LAR-004 through the database: the per-RM daily window, its roll-over, and shifts in the city's time zone."""
from __future__ import annotations

import uuid
from collections import Counter

from tests.allocation_builders import advance, allocate, city_with_rms
from tests.api.allocation.helpers import allocated, start
from tests.builders import API, make_rm, make_team


async def test_lar_004_thirty_leads_over_three_equal_rms_are_ten_each(client, auth):
    await start(client, auth.admin)
    team, rms = await city_with_rms(client, auth.admin, count=3)
    service = auth.headers("SERVICE")
    counts = Counter([(await allocated(client, service))["rm_id"] for _ in range(30)])
    assert sorted(counts.values()) == [10, 10, 10]
    workload = (await client.get(f"{API}/allocations/workload", headers=auth.admin)).json()
    assert workload["teams"][0]["coefficient_of_variation"] == 0
    assert [r["leads_received_today"] for r in workload["rms"]] == [10, 10, 10]


async def test_lar_004_window_rolls_over_at_midnight(client, auth):
    await start(client, auth.admin, "2026-01-17T20:00:00Z")
    team = await make_team(client, auth.admin)
    busy = await make_rm(client, auth.admin, team_id=team["id"], name="Busy")
    late = await make_rm(client, auth.admin, team_id=team["id"], name="Late", availability="OFFLINE")
    service = auth.headers("SERVICE")
    assert {(await allocated(client, service))["rm_id"] for _ in range(3)} == {busy["id"]}
    online = await client.patch(f"{API}/rms/{late['id']}/availability", json={"availability": "ONLINE"},
                                headers=auth.admin)
    assert online.status_code == 200, online.text
    await advance(client, auth.admin, 6 * 3600)  # 02:00 the next day: both start the day at zero
    first = await allocated(client, service)
    second = await allocated(client, service)
    # Equal deficit: the lower utilization (Late, 0/25) goes first, then Busy (0 today vs Late's 1).
    assert (first["rm_id"], second["rm_id"]) == (late["id"], busy["id"])
    trace = {c["rm_id"]: c for c in second["decision"]["candidates"]}
    assert trace[busy["id"]]["received_today"] == 0 and trace[late["id"]]["received_today"] == 1


async def test_shifts_follow_the_city_time_zone(client, auth):
    await start(client, auth.admin)  # Saturday 10:30 UTC = 16:00 in Kolkata
    put = await client.put(f"{API}/allocations/rules", json={"city": "Bangalore", "rules": {
        "timezone": "Asia/Kolkata"}}, headers=auth.admin)
    assert put.status_code == 200, put.text
    team = await make_team(client, auth.admin)
    saturday = await make_rm(client, auth.admin, team_id=team["id"], name="Saturday",
                             shifts=[{"weekday": 5, "start": "09:00", "end": "18:00"}])
    a = await allocated(client, auth.headers("SERVICE"))
    assert a["rm_id"] == saturday["id"]
    await advance(client, auth.admin, 2 * 3600 + 30 * 60)  # 18:30 in Kolkata: off shift
    response = await allocate(client, auth.headers("SERVICE"))
    assert response.status_code == 202, response.text
    [entry] = response.json()["decision"]["candidates"]
    assert entry["excluded_by"] == "AVAILABILITY" and "Asia/Kolkata" in entry["why"]
    assert uuid.UUID(entry["rm_id"]) == uuid.UUID(saturday["id"])
