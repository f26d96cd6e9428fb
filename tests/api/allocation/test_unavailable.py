"""Issue 17 leave and availability: an RM who goes OFFLINE, INACTIVE or on leave today gives up their PENDING
(unacted) leads, reallocated through the engine with reason RM_UNAVAILABLE (or queued); accepted leads stay;
the team's supervisor is told."""
from __future__ import annotations

from tests.allocation_builders import run_job, set_clock
from tests.api.allocation.helpers import allocated, event_data, get_allocation, get_rm, live_of_lead
from tests.builders import API, make_leave, make_rm, make_team
from tests.events_schema import assert_outbox_valid

NOW = "2026-01-21T06:00:00Z"  # a Wednesday


async def _loaded_rm(client, auth):  # type: ignore[no-untyped-def]
    """A team whose first RM holds two PENDING leads and one ACCEPTED lead, and a second RM with none."""
    await set_clock(client, auth.admin, NOW)
    team = await make_team(client, auth.admin)
    away = await make_rm(client, auth.admin, team_id=team["id"], name="Going away")
    service = auth.headers("SERVICE")
    leads = [await allocated(client, service) for _ in range(3)]
    accepted = await client.patch(f"{API}/allocations/{leads[2]['id']}/accept", headers=auth.rm(away["id"]))
    assert accepted.status_code == 200, accepted.text
    return team, away, leads


async def _supervisor_notices(engine):  # type: ignore[no-untyped-def]
    return [d for d in await event_data(engine, "sales.notification.requested") if d["template"] == "rm_unavailable"]


async def test_going_offline_moves_pending_leads_keeps_accepted_and_tells_the_supervisor(client, auth, engine):
    team, away, leads = await _loaded_rm(client, auth)
    other = await make_rm(client, auth.admin, team_id=team["id"], name="Still here")
    response = await client.patch(f"{API}/rms/{away['id']}/availability", json={"availability": "OFFLINE"},
                                  headers=auth.rm(away["id"]))
    assert response.status_code == 200, response.text

    for pending in leads[:2]:
        assert (await get_allocation(client, auth.admin, pending["id"]))["status"] == "REASSIGNED"
        [live] = await live_of_lead(client, auth.admin, pending["lead_id"])
        assert (live["rm_id"], live["status"], live["is_reassignment"]) == (other["id"], "PENDING", True)
        assert (live["previous_rm_id"], live["reassignment_reason"]) == (away["id"], "RM_UNAVAILABLE")
    assert (await get_allocation(client, auth.admin, leads[2]["id"]))["status"] == "ACCEPTED"
    assert (await get_rm(client, auth.admin, away["id"]))["active_leads"] == 1
    assert (await get_rm(client, auth.admin, other["id"]))["active_leads"] == 2
    [notice] = await _supervisor_notices(engine)
    assert (notice["recipient"]["type"], notice["recipient"]["id"]) == ("SUPERVISOR", team["supervisor_id"])
    assert (notice["data"]["why"], notice["data"]["kept_live_leads"]) == ("OFFLINE", 1)
    assert sorted(m["lead_id"] for m in notice["data"]["reallocated"]) == sorted(p["lead_id"] for p in leads[:2])
    reassigned = await event_data(engine, "sales.lead.reassigned")
    assert {e["reason"] for e in reassigned} == {"RM_UNAVAILABLE"} and len(reassigned) == 2
    async with engine.connect() as conn:
        await assert_outbox_valid(conn)


async def test_becoming_inactive_with_nobody_else_queues_the_pending_leads(client, auth, engine):
    team, away, leads = await _loaded_rm(client, auth)
    response = await client.put(f"{API}/rms/{away['id']}", json={"status": "INACTIVE"}, headers=auth.admin)
    assert response.status_code == 200, response.text
    for pending in leads[:2]:
        assert (await get_allocation(client, auth.admin, pending["id"]))["status"] == "REASSIGNED"
        assert await live_of_lead(client, auth.admin, pending["lead_id"]) == []
    queued = (await client.get(f"{API}/allocations/queued", headers=auth.admin)).json()["items"]
    assert sorted(q["lead_id"] for q in queued) == sorted(p["lead_id"] for p in leads[:2])
    [notice] = await _supervisor_notices(engine)
    assert notice["data"]["why"] == "INACTIVE" and len(notice["data"]["queued"]) == 2


async def test_a_leave_covering_today_moves_pending_leads_a_later_one_does_not(client, auth, engine):
    team, away, leads = await _loaded_rm(client, auth)
    other = await make_rm(client, auth.admin, team_id=team["id"], name="Still here")
    await make_leave(client, auth.admin, rm_id=away["id"], start_date="2026-01-26", end_date="2026-01-27")
    assert (await get_allocation(client, auth.admin, leads[0]["id"]))["status"] == "PENDING"
    assert await _supervisor_notices(engine) == []

    await make_leave(client, auth.admin, rm_id=away["id"], start_date="2026-01-21", end_date="2026-01-22")
    for pending in leads[:2]:
        [live] = await live_of_lead(client, auth.admin, pending["lead_id"])
        assert (live["rm_id"], live["reassignment_reason"]) == (other["id"], "RM_UNAVAILABLE")
    [notice] = await _supervisor_notices(engine)
    assert notice["data"]["why"] == "LEAVE"


async def test_going_online_or_changing_other_fields_moves_nothing(client, auth, engine):
    team, away, leads = await _loaded_rm(client, auth)
    await make_rm(client, auth.admin, team_id=team["id"], name="Still here")
    response = await client.put(f"{API}/rms/{away['id']}", json={"performance_score": 90}, headers=auth.admin)
    assert response.status_code == 200
    online = await client.patch(f"{API}/rms/{away['id']}/availability", json={"availability": "ONLINE"},
                                headers=auth.rm(away["id"]))
    assert online.status_code == 200
    assert (await get_allocation(client, auth.admin, leads[0]["id"]))["status"] == "PENDING"
    assert await _supervisor_notices(engine) == []


async def test_leave_start_job_moves_leads_once_the_leave_starts_in_the_citys_time_zone(client, auth, engine):
    response = await client.put(f"{API}/allocations/rules", json={"city": "Bangalore", "rules": {
        "timezone": "Asia/Kolkata"}}, headers=auth.admin)
    assert response.status_code == 200, response.text
    team, away, leads = await _loaded_rm(client, auth)  # Wednesday 11:30 in Kolkata
    other = await make_rm(client, auth.admin, team_id=team["id"], name="Still here")
    await make_leave(client, auth.admin, rm_id=away["id"], start_date="2026-01-22", end_date="2026-01-23")
    await set_clock(client, auth.admin, "2026-01-21T18:29:00Z")  # Wednesday 23:59 in Kolkata: not yet
    assert (await run_job(client, auth.admin, "leave-start"))["reallocated_or_queued"] == 0
    assert (await get_allocation(client, auth.admin, leads[0]["id"]))["status"] == "PENDING"

    await set_clock(client, auth.admin, "2026-01-21T18:30:00Z")  # Thursday 00:00 in Kolkata: the leave starts
    assert (await run_job(client, auth.admin, "leave-start"))["reallocated_or_queued"] == 2
    for pending in leads[:2]:
        [live] = await live_of_lead(client, auth.admin, pending["lead_id"])
        assert (live["rm_id"], live["reassignment_reason"]) == (other["id"], "RM_UNAVAILABLE")
    assert (await get_allocation(client, auth.admin, leads[2]["id"]))["status"] == "ACCEPTED"
    [notice] = await _supervisor_notices(engine)
    assert (notice["data"]["why"], notice["data"]["kept_live_leads"]) == ("LEAVE", 1)

    await set_clock(client, auth.admin, "2026-01-22T05:00:00Z")  # during the leave a supervisor places a lead
    placed = await allocated(client, auth.admin, rm_id=away["id"], reason="the customer asked for her")
    assert (await run_job(client, auth.admin, "leave-start"))["reallocated_or_queued"] == 0
    assert (await get_allocation(client, auth.admin, placed["id"]))["status"] == "PENDING"
