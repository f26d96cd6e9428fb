"""Reading allocations: list filters and scoping, one allocation with its decision, an RM's queue, workload."""
from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from sales.core.direct import Direct
from tests.allocation_builders import advance, city_with_rms, run_job
from tests.api.allocation.helpers import allocated, start
from tests.builders import API, make_rm, make_team
from tests.checks import assert_problem


async def _two_cities(client, auth):  # type: ignore[no-untyped-def]
    """Team A (Bangalore, 2 RMs) gets leads at 10:30 and 10:31; team B (Mumbai, 1 RM) one at 11:31, accepted."""
    await start(client, auth.admin)
    team_a, rms_a = await city_with_rms(client, auth.admin, count=2)
    team_b = await make_team(client, auth.admin, city="Mumbai")
    rm_b = await make_rm(client, auth.admin, team_id=team_b["id"], city="Mumbai", localities=["Andheri"],
                         zone="West")
    service = auth.headers("SERVICE")
    a1 = await allocated(client, service)
    await advance(client, auth.admin, 60)
    a2 = await allocated(client, service)
    await advance(client, auth.admin, 3600)
    b1 = await allocated(client, service, city="Mumbai", zone="West", locality="Andheri")
    accepted = await client.patch(f"{API}/allocations/{b1['id']}/accept", headers=auth.rm(uuid.UUID(rm_b["id"])))
    assert accepted.status_code == 200, accepted.text
    return team_a, rms_a, team_b, rm_b, [a1, a2, b1]


async def _ids(client, headers, **params):  # type: ignore[no-untyped-def]
    response = await client.get(f"{API}/allocations", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return [a["id"] for a in response.json()["items"]]


async def test_list_filters(client, auth):
    team_a, rms_a, team_b, rm_b, (a1, a2, b1) = await _two_cities(client, auth)
    admin = auth.admin
    assert await _ids(client, admin) == [b1["id"], a2["id"], a1["id"]]  # newest first
    assert await _ids(client, admin, rm_id=a1["rm_id"]) == [a1["id"]]
    assert set(await _ids(client, admin, team_id=team_a["id"])) == {a1["id"], a2["id"]}
    assert await _ids(client, admin, city="mumbai") == [b1["id"]]
    assert await _ids(client, admin, status="ACCEPTED") == [b1["id"]]
    assert set(await _ids(client, admin, status="PENDING")) == {a1["id"], a2["id"]}
    assert await _ids(client, admin, allocation_type="MANUAL") == []
    assert len(await _ids(client, admin, allocation_type="AUTO")) == 3
    assert await _ids(client, admin, **{"from": "2026-01-17T11:00:00Z"}) == [b1["id"]]
    assert set(await _ids(client, admin, to="2026-01-17T11:00:00Z")) == {a1["id"], a2["id"]}
    assert await _ids(client, admin, **{"from": "2026-01-17T10:00:00Z", "to": "2026-01-17T10:31:00Z",
                                        "city": "Bangalore", "rm_id": a2["rm_id"]}) == [a2["id"]]
    bad = await client.get(f"{API}/allocations", params={"status": "LOST"}, headers=admin)
    assert_problem(bad, 422, "validation_error", loc=["query", "status"])


async def test_list_pages_with_a_cursor(client, auth):
    *_, allocations = await _two_cities(client, auth)
    first = await client.get(f"{API}/allocations", params={"limit": 2}, headers=auth.admin)
    assert len(first.json()["items"]) == 2 and first.json()["next_cursor"]
    rest = await client.get(f"{API}/allocations", params={"limit": 2, "cursor": first.json()["next_cursor"]},
                            headers=auth.admin)
    ids = [a["id"] for a in first.json()["items"] + rest.json()["items"]]
    assert ids == [allocations[2]["id"], allocations[1]["id"], allocations[0]["id"]]
    assert rest.json()["next_cursor"] is None


async def test_cursor_pages_through_allocations_made_at_the_same_instant(client, auth):
    await start(client, auth.admin)
    await city_with_rms(client, auth.admin, count=3)
    made = {(await allocated(client, auth.headers("SERVICE")))["id"] for _ in range(5)}
    everything = await _ids(client, auth.admin, limit=500)
    seen: list[str] = []
    params: dict[str, object] = {"limit": 2}
    while True:
        page = (await client.get(f"{API}/allocations", params=params, headers=auth.admin)).json()
        seen += [a["id"] for a in page["items"]]
        if not page["next_cursor"]:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == everything and set(seen) == made


async def test_scoping_rm_supervisor_and_single_reads(client, auth):
    team_a, rms_a, team_b, rm_b, (a1, a2, b1) = await _two_cities(client, auth)
    rm_a = auth.rm(uuid.UUID(a1["rm_id"]))
    assert await _ids(client, rm_a) == [a1["id"]]
    assert await _ids(client, rm_a, rm_id=a2["rm_id"]) == []
    sup_a = auth.supervisor(uuid.UUID(team_a["id"]))
    assert set(await _ids(client, sup_a)) == {a1["id"], a2["id"]}
    assert await _ids(client, auth.supervisor(uuid.UUID(team_b["id"]))) == [b1["id"]]
    assert len(await _ids(client, auth.headers("FINANCE_ADMIN"))) == 3
    customer = await client.get(f"{API}/allocations", headers=auth.headers("CUSTOMER"))
    assert_problem(customer, 403, "forbidden")

    own = await client.get(f"{API}/allocations/{a1['id']}", headers=rm_a)
    assert own.status_code == 200 and own.json()["decision"]["rm_id"] == a1["rm_id"]
    for headers, allocation in ((rm_a, a2), (rm_a, b1), (sup_a, b1), (auth.supervisor(uuid.UUID(team_b["id"])), a1)):
        hidden = await client.get(f"{API}/allocations/{allocation['id']}", headers=headers)
        assert_problem(hidden, 404, "allocation_not_found")
    missing = await client.get(f"{API}/allocations/{uuid.uuid4()}", headers=auth.admin)
    assert_problem(missing, 404, "allocation_not_found")
    no_token = await client.get(f"{API}/allocations/{a1['id']}")
    assert no_token.status_code == 401


async def test_single_allocation_carries_the_decision(client, auth):
    *_, (a1, _, _) = await _two_cities(client, auth)
    response = await client.get(f"{API}/allocations/{a1['id']}", headers=auth.admin)
    body = response.json()
    assert body["decision"]["outcome"] == "ALLOCATED"
    assert len(body["decision"]["candidates"]) == 2
    assert body["decision"]["reason"] == body["allocation_reason"]


# --- queue ------------------------------------------------------------------------------------------------


async def test_rm_queue_order_time_left_and_lead_summary(client, auth):
    await start(client, auth.admin)
    team, [rm] = await city_with_rms(client, auth.admin, count=1)
    service = auth.headers("SERVICE")
    c = await allocated(client, service, source="WEBSITE")                            # priority 3, due 12:30
    await advance(client, auth.admin, 600)
    b = await allocated(client, service, segment="BUYER", customer={"name": "Asha Rao"})  # priority 5, due 12:40
    await advance(client, auth.admin, 600)
    a = await allocated(client, service, source="WEBSITE", locality="HSR Layout")   # priority 3, due 12:50
    assert [x["priority"] for x in (a, b, c)] == [3, 5, 3]
    response = await client.get(f"{API}/allocations/rm/{rm['id']}/queue", headers=auth.rm(uuid.UUID(rm["id"])))
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [i["id"] for i in items] == [b["id"], c["id"], a["id"]]
    assert [i["time_left_seconds"] for i in items] == [6600, 6000, 7200]
    assert items[0]["lead"] == {"customer_name": "Asha Rao", "locality": "Koramangala", "city": "Bangalore",
                                "property_type": "RESIDENTIAL", "segment": "BUYER", "expected_deal_value": 25000.00}
    assert items[2]["lead"]["locality"] == "HSR Layout"
    assert {"lead_id", "rm_id", "sla_deadline", "status", "allocation_type"} <= items[0].keys()
    supervisor = await client.get(f"{API}/allocations/rm/{rm['id']}/queue",
                                  headers=auth.supervisor(uuid.UUID(team["id"])))
    assert [i["id"] for i in supervisor.json()["items"]] == [b["id"], c["id"], a["id"]]
    # Accepted leads stay in the queue; reassigned ones leave it.
    await client.patch(f"{API}/allocations/{c['id']}/accept", headers=auth.rm(uuid.UUID(rm["id"])))
    await client.post(f"{API}/allocations/{a['id']}/reassign", json={"reason": "x"}, headers=auth.admin)
    after = await client.get(f"{API}/allocations/rm/{rm['id']}/queue", headers=auth.rm(uuid.UUID(rm["id"])))
    assert [i["id"] for i in after.json()["items"]] == [b["id"], c["id"]]


async def test_rm_queue_time_left_goes_negative_when_overdue(client, auth):
    await start(client, auth.admin)
    _, [rm] = await city_with_rms(client, auth.admin, count=1)
    await allocated(client, auth.headers("SERVICE"))
    await advance(client, auth.admin, 7300)
    response = await client.get(f"{API}/allocations/rm/{rm['id']}/queue", headers=auth.admin)
    assert response.json()["items"][0]["time_left_seconds"] == -100


async def test_rm_queue_scoping(client, auth):
    await start(client, auth.admin)
    team, rms = await city_with_rms(client, auth.admin, count=2)
    other_team = await make_team(client, auth.admin)
    for headers in (auth.rm(uuid.UUID(rms[1]["id"])), auth.supervisor(uuid.UUID(other_team["id"]))):
        response = await client.get(f"{API}/allocations/rm/{rms[0]['id']}/queue", headers=headers)
        assert response.status_code == 404, response.text
    unknown = await client.get(f"{API}/allocations/rm/{uuid.uuid4()}/queue", headers=auth.admin)
    assert unknown.status_code == 404


# --- workload ---------------------------------------------------------------------------------------------


async def test_workload_numbers_per_rm_team_and_city(client, auth, backend, monkeypatch):
    await start(client, auth.admin)
    rules = await client.put(f"{API}/allocations/rules", json={"rules": {"queue_depth_alert": 1}},
                             headers=auth.admin)
    assert rules.status_code == 200, rules.text
    team = await make_team(client, auth.admin)
    small = await make_rm(client, auth.admin, team_id=team["id"], name="Small", capacity=2)
    large = await make_rm(client, auth.admin, team_id=team["id"], name="Large", capacity=4)
    service = auth.headers("SERVICE")
    allocations = [await allocated(client, service) for _ in range(3)]
    # Capacity-weighted round robin (LAR-004): the larger RM gets two of three.
    assert [a["rm_id"] for a in allocations].count(large["id"]) == 2
    mine = next(a for a in allocations if a["rm_id"] == small["id"])
    await client.patch(f"{API}/allocations/{mine['id']}/accept", headers=auth.rm(uuid.UUID(small["id"])))

    response = await client.get(f"{API}/allocations/workload", headers=auth.supervisor(uuid.UUID(team["id"])))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["date"] == "2026-01-17" and body["queue_depth_threshold"] == 1
    rows = {r["rm_id"]: r for r in body["rms"]}
    assert set(rows) == {small["id"], large["id"]}
    s, l_ = rows[small["id"]], rows[large["id"]]
    assert (s["active"], s["capacity"], s["utilization"], s["queue_depth"], s["leads_received_today"],
            s["over_threshold"]) == (1, 2, 50.00, 0, 1, False)
    assert (l_["active"], l_["capacity"], l_["utilization"], l_["queue_depth"], l_["leads_received_today"],
            l_["over_threshold"]) == (2, 4, 50.00, 2, 2, True)
    [team_row] = body["teams"]
    assert team_row["key"] == team["id"]
    assert (team_row["rms"], team_row["active"], team_row["capacity"], team_row["utilization"],
            team_row["queue_depth"], team_row["leads_received_today"]) == (2, 3, 6, 50.00, 2, 3)
    assert Decimal(str(team_row["coefficient_of_variation"])) == Decimal("0.3333")  # [1, 2]: 0.5 / 1.5
    [city_row] = body["cities"]
    assert city_row["key"] == "Bangalore" and city_row["active"] == 3
    assert body["total"]["leads_received_today"] == 3 and body["queued_leads"] == 0

    # LAR-006: both of Large's leads breach their SLA; one moves to Small, the other queues.
    await advance(client, auth.admin, 7201)
    sweep = await run_job(client, auth.admin, "sla-sweep")
    assert (sweep["processed"], sweep["reallocated"], sweep["queued"]) == (2, 1, 1)
    body = (await client.get(f"{API}/allocations/workload", headers=auth.admin)).json()
    rows = {r["rm_id"]: r for r in body["rms"]}
    assert (rows[large["id"]]["sla_breaches_today"], rows[large["id"]]["active"]) == (2, 0)
    assert (rows[small["id"]]["active"], rows[small["id"]]["leads_received_today"]) == (2, 2)
    assert body["total"]["sla_breaches_today"] == 2 and body["queued_leads"] == 1

    # A supervisor counts the queue of their teams' cities only; on PostgreSQL both of the room's statements go
    # through asyncpg directly (their lists are array parameters, issue 19).
    if backend == "postgres":
        monkeypatch.setattr(Direct, "_through_sqlalchemy", _refused)
    other = await make_team(client, auth.admin, city="Mumbai")
    for supervised, queued in ((team, 1), (other, 0)):
        response = await client.get(f"{API}/allocations/workload", params={"team_id": supervised["id"]},
                                    headers=auth.supervisor(uuid.UUID(supervised["id"])))
        assert response.status_code == 200, response.text
        assert response.json()["queued_leads"] == queued


async def _refused(*args, **kwargs):  # type: ignore[no-untyped-def]
    raise AssertionError("a statement went through SQLAlchemy")


async def test_workload_scoping_and_filters(client, auth):
    await start(client, auth.admin)
    team_a, rms_a = await city_with_rms(client, auth.admin, count=2)
    team_b = await make_team(client, auth.admin, city="Mumbai")
    rm_b = await make_rm(client, auth.admin, team_id=team_b["id"], city="Mumbai")
    response = await client.get(f"{API}/allocations/workload", headers=auth.supervisor(uuid.UUID(team_a["id"])))
    assert {r["rm_id"] for r in response.json()["rms"]} == {rm["id"] for rm in rms_a}
    admin = auth.admin
    by_city = await client.get(f"{API}/allocations/workload", params={"city": "mumbai"}, headers=admin)
    assert [r["rm_id"] for r in by_city.json()["rms"]] == [rm_b["id"]]
    by_team = await client.get(f"{API}/allocations/workload", params={"team_id": team_a["id"]}, headers=admin)
    assert {r["rm_id"] for r in by_team.json()["rms"]} == {rm["id"] for rm in rms_a}
    assert (await client.get(f"{API}/allocations/workload", headers=auth.headers("PRODUCT_MANAGER"))).status_code == 200


@pytest.mark.parametrize("role", ["RM", "CUSTOMER", "SERVICE", "FINANCE_ADMIN"])
async def test_workload_forbidden_roles_403(client, auth, role):
    response = await client.get(f"{API}/allocations/workload", headers=auth.headers(role))
    assert_problem(response, 403, "forbidden")


async def test_queued_leads_listed_by_priority_then_age_lar_007(client, auth):
    """LAR-007: queued leads are visible to supervisors of the city, highest priority first."""
    from tests.allocation_builders import allocate as _allocate, set_clock as _set_clock, advance as _advance
    from tests.builders import make_team as _make_team
    await _set_clock(client, auth.admin, "2026-03-02T10:00:00Z")
    team = await _make_team(client, auth.admin, city="Nowhere")
    service = auth.headers("SERVICE")
    low = await _allocate(client, service, city="Nowhere", expected_deal_value="1000.00", source="WEBSITE",
                          segment="TENANT")
    await _advance(client, auth.admin, 60)
    high = await _allocate(client, service, city="Nowhere", expected_deal_value="500000.00", segment="BUYER")
    assert low.status_code == high.status_code == 202
    listing = await client.get("/api/v1/sales/allocations/queued", headers=auth.supervisor(team["id"]))
    assert listing.status_code == 200, listing.text
    assert [item["lead_id"] for item in listing.json()["items"]] == [high.json()["lead_id"], low.json()["lead_id"]]
    elsewhere = await client.get("/api/v1/sales/allocations/queued", headers=auth.supervisor())
    assert elsewhere.json()["items"] == []
    assert (await client.get("/api/v1/sales/allocations/queued", headers=auth.rm(team["id"]))).status_code == 403


async def test_workload_follows_rule_changes_between_reads(client, auth):
    """Issue 19: the workload combines the current rule sets by their ids (cached per process); a new version of
    the default or of a city's rules shows in the next read, and an empty room still counts the queued leads."""
    await start(client, auth.admin)
    team = await make_team(client, auth.admin)
    rm = await make_rm(client, auth.admin, team_id=team["id"])
    supervisor = auth.supervisor(uuid.UUID(team["id"]))

    async def room() -> dict:
        response = await client.get(f"{API}/allocations/workload", headers=supervisor)
        assert response.status_code == 200, response.text
        return response.json()

    before = await room()
    assert before["queue_depth_threshold"] == 10 and before["teams"][0]["over_threshold"] is False
    for body in ({"rules": {"queue_depth_alert": 1}}, {"city": "Bangalore", "rules": {"team_queue_depth_alert": 1}}):
        response = await client.put(f"{API}/allocations/rules", json=body, headers=auth.admin)
        assert response.status_code == 200, response.text
    for _ in range(2):
        await allocated(client, auth.headers("SERVICE"))
    after = await room()
    assert after["queue_depth_threshold"] == 1
    [row] = after["rms"]
    assert (row["rm_id"], row["queue_depth"], row["over_threshold"]) == (rm["id"], 2, True)
    assert after["teams"][0]["over_threshold"] is True
    empty = await client.get(f"{API}/allocations/workload", params={"city": "Nowhere"}, headers=auth.admin)
    assert empty.status_code == 200 and empty.json()["rms"] == [] and empty.json()["queued_leads"] == 0
