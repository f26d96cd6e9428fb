"""The notifications the PRD already asks for (issue 10 §4): a new lead to its RM with the SLA deadline
(US-SALE-010), a reassignment to both RMs (US-SALE-031), an escalation (LAR-006) and a queue depth over the
threshold (§2.2.5) to the team's supervisor."""
from __future__ import annotations

import uuid

from tests.allocation_builders import advance, city_with_rms, run_job
from tests.api.allocation.helpers import allocated, live_of_lead, start
from tests.api.allocation.helpers import event_data as _event_data
from tests.builders import API, make_rm, make_team

TYPE = "sales.notification.requested"
SLA = 2 * 3600


async def notices(engine, template: str | None = None) -> list[dict]:  # type: ignore[no-untyped-def]
    return [d for d in await _event_data(engine, TYPE) if template is None or d["template"] == template]


async def test_us_sale_010_new_lead_to_its_rm_with_the_sla_deadline(client, auth, engine):
    await start(client, auth.admin)
    await city_with_rms(client, auth.admin, count=2)
    a = await allocated(client, auth.headers("SERVICE"))
    [notice] = await notices(engine)
    assert notice["template"] == "lead_assigned" and notice["transactional"] is True
    assert (notice["recipient"], notice["channel"], notice["dedupe_key"]) == (
        {"type": "RM", "id": a["rm_id"]}, "PUSH_NOTIFICATION", f"lead_assigned:{a['id']}")
    assert notice["data"] == {
        "allocation_id": a["id"], "lead_id": a["lead_id"], "pipeline_id": a["pipeline_id"], "priority": a["priority"],
        "sla_deadline": "2026-01-17T12:30:00Z", "is_reassignment": False, "previous_rm_id": None,
        "city": "Bangalore", "locality": "Koramangala", "property_type": "RESIDENTIAL", "segment": "TENANT"}
    assert a["sla_deadline"] == "2026-01-17T12:30:00Z"
    # the same lead posted again answers the live allocation and tells nobody again
    again = await client.post(f"{API}/allocations", json={
        "lead_id": a["lead_id"], "city": "Bangalore", "locality": "Koramangala", "property_type": "RESIDENTIAL",
        "segment": "TENANT", "source": "INBOUND_CALL"}, headers=auth.headers("SERVICE"))
    assert again.status_code == 200, again.text
    assert len(await notices(engine)) == 1


async def test_us_sale_031_supervisor_reassignment_tells_both_rms(client, auth, engine):
    await start(client, auth.admin)
    team, rms = await city_with_rms(client, auth.admin, count=2)
    a = await allocated(client, auth.headers("SERVICE"))
    target = next(rm for rm in rms if rm["id"] != a["rm_id"])
    r = await client.post(f"{API}/allocations/{a['id']}/reassign",
                          json={"to_rm_id": target["id"], "reason": "balance load"},
                          headers=auth.supervisor(uuid.UUID(team["id"])))
    assert r.status_code == 200, r.text
    new = r.json()
    [_, assigned] = await notices(engine, "lead_assigned")
    assert assigned["recipient"] == {"type": "RM", "id": target["id"]}
    assert (assigned["data"]["is_reassignment"], assigned["data"]["previous_rm_id"]) == (True, a["rm_id"])
    assert assigned["data"]["sla_deadline"] == new["sla_deadline"]
    [away] = await notices(engine, "lead_reassigned_away")
    assert away["recipient"] == {"type": "RM", "id": a["rm_id"]}
    assert away["data"] == {"allocation_id": a["id"], "new_allocation_id": new["id"], "lead_id": a["lead_id"],
                            "to_rm_id": target["id"], "reason": "balance load"}
    assert away["dedupe_key"] == f"lead_reassigned_away:{new['id']}"


async def test_us_sale_031_an_rm_who_rejects_is_not_told_about_their_own_move(client, auth, engine):
    await start(client, auth.admin)
    await city_with_rms(client, auth.admin, count=2)
    a = await allocated(client, auth.headers("SERVICE"))
    r = await client.patch(f"{API}/allocations/{a['id']}/reject", json={"reason": "not my area"},
                           headers=auth.rm(uuid.UUID(a["rm_id"])))
    assert r.status_code == 200, r.text
    new = r.json()["next_allocation"]
    assert [n["recipient"]["id"] for n in await notices(engine, "lead_assigned")] == [a["rm_id"], new["rm_id"]]
    assert await notices(engine, "lead_reassigned_away") == []


async def test_lar_006_sla_expiry_moves_the_lead_and_tells_both_rms(client, auth, engine):
    await start(client, auth.admin)
    await city_with_rms(client, auth.admin, count=2)
    a = await allocated(client, auth.headers("SERVICE"))
    await advance(client, auth.admin, SLA)
    assert (await run_job(client, auth.admin, "sla-sweep"))["reallocated"] == 1
    [away] = await notices(engine, "lead_reassigned_away")
    assert (away["recipient"]["id"], away["data"]["reason"]) == (a["rm_id"], "SLA_BREACH")
    [_, assigned] = await notices(engine, "lead_assigned")
    assert assigned["data"]["sla_deadline"] == "2026-01-17T14:30:00Z"


async def test_lar_006_escalation_to_the_teams_supervisor(client, auth, engine):
    await start(client, auth.admin)
    team, _ = await city_with_rms(client, auth.admin, count=3)
    a = await allocated(client, auth.headers("SERVICE"))
    await advance(client, auth.admin, SLA)
    await run_job(client, auth.admin, "sla-sweep")
    [second] = await live_of_lead(client, auth.admin, a["lead_id"])
    await advance(client, auth.admin, SLA)
    assert (await run_job(client, auth.admin, "sla-sweep"))["escalated"] == 1
    [notice] = await notices(engine, "lead_escalated")
    assert notice["recipient"] == {"type": "SUPERVISOR", "id": team["supervisor_id"], "team_id": team["id"]}
    assert (notice["channel"], notice["transactional"], notice["dedupe_key"]) == (
        "PUSH_NOTIFICATION", True, f"lead_escalated:{second['id']}")
    assert notice["data"] == {"allocation_id": second["id"], "lead_id": a["lead_id"], "rm_id": second["rm_id"],
                              "team_id": team["id"], "sla_breaches": 2, "sla_deadline": second["sla_deadline"],
                              "city": "Bangalore", "locality": "Koramangala", "reason": "SLA_BREACH"}
    await advance(client, auth.admin, SLA)
    await run_job(client, auth.admin, "sla-sweep")
    assert len(await notices(engine, "lead_escalated")) == 1


async def test_lar_006_escalation_in_a_team_without_supervisor_is_addressed_to_the_team(client, auth, engine):
    await start(client, auth.admin)
    r = await client.put(f"{API}/allocations/rules", json={"city": "Bangalore", "rules": {"max_sla_breaches": 1}},
                         headers=auth.admin)
    assert r.status_code == 200, r.text
    team = await make_team(client, auth.admin, supervisor_id=None)
    await make_rm(client, auth.admin, team_id=team["id"])
    await allocated(client, auth.headers("SERVICE"))
    await advance(client, auth.admin, SLA)
    assert (await run_job(client, auth.admin, "sla-sweep"))["escalated"] == 1
    [notice] = await notices(engine, "lead_escalated")
    assert notice["recipient"] == {"type": "SUPERVISOR", "id": None, "team_id": team["id"]}


async def test_queue_depth_over_the_threshold_alerts_the_supervisor_once_per_crossing(client, auth, engine):
    """§2.2.5, issue 17: PENDING leads of an RM beyond the city's queue_depth_alert tell the supervisor once per
    crossing: not again while the queue stays over, again after it came back to the threshold."""
    await start(client, auth.admin)
    r = await client.put(f"{API}/allocations/rules", json={"city": "Bangalore", "rules": {"queue_depth_alert": 2}},
                         headers=auth.admin)
    assert r.status_code == 200, r.text
    team, [rm] = await city_with_rms(client, auth.admin, count=1)
    given = [await allocated(client, auth.headers("SERVICE")) for _ in range(2)]
    assert await notices(engine, "queue_depth_alert") == []  # 2 is not over 2
    given.append(await allocated(client, auth.headers("SERVICE")))
    given.append(await allocated(client, auth.headers("SERVICE")))  # still over: no second alert
    [alert] = await notices(engine, "queue_depth_alert")
    assert alert["recipient"] == {"type": "SUPERVISOR", "id": team["supervisor_id"], "team_id": team["id"]}
    assert alert["data"] == {"team_id": team["id"], "rm_id": rm["id"], "queue_depth": 3, "threshold": 2,
                             "scope": "RM"}
    workload = (await client.get(f"{API}/allocations/workload", params={"city": "Bangalore"},
                                headers=auth.admin)).json()
    assert [(x["rm_id"], x["queue_depth"], x["over_threshold"]) for x in workload["rms"]] == [(rm["id"], 4, True)]
    await advance(client, auth.admin, 3600)
    await allocated(client, auth.headers("SERVICE"))  # an hour later, still over: still one alert
    assert len(await notices(engine, "queue_depth_alert")) == 1
    for allocation in given[:3]:  # 5 -> 2 PENDING: back at the threshold
        accepted = await client.patch(f"{API}/allocations/{allocation['id']}/accept", headers=auth.rm(rm["id"]))
        assert accepted.status_code == 200, accepted.text
    await allocated(client, auth.headers("SERVICE"))  # 3: a new crossing
    assert [n["data"]["queue_depth"] for n in await notices(engine, "queue_depth_alert")] == [3, 3]


async def test_a_team_queue_over_its_threshold_alerts_once(client, auth, engine):
    """Issue 17: the team's PENDING leads beyond team_queue_depth_alert, once per crossing (scope TEAM)."""
    await start(client, auth.admin)
    r = await client.put(f"{API}/allocations/rules", json={"city": "Bangalore", "rules": {
        "team_queue_depth_alert": 3}}, headers=auth.admin)
    assert r.status_code == 200, r.text
    team, rms = await city_with_rms(client, auth.admin, count=2)
    for _ in range(5):
        await allocated(client, auth.headers("SERVICE"))
    [alert] = await notices(engine, "queue_depth_alert")
    assert alert["data"] == {"team_id": team["id"], "rm_id": None, "queue_depth": 4, "threshold": 3,
                             "scope": "TEAM"}
