"""The RM's answer (accept, reject) and the supervisor's moves (reassign, bulk-reassign), with history,
events and capacity kept right."""
from __future__ import annotations

import uuid

import pytest

from tests.allocation_builders import advance, city_with_rms
from tests.api.allocation.helpers import (active_leads, allocated, event_data, get_allocation, get_pipeline,
                                          live_of_lead, row_counts, start)
from tests.builders import API, make_rm, make_team
from tests.checks import assert_problem


async def _one(client, auth, count=2, **rm):  # type: ignore[no-untyped-def]
    await start(client, auth.admin)
    team, rms = await city_with_rms(client, auth.admin, count=count, **rm)
    return team, rms, await allocated(client, auth.headers("SERVICE"))


# --- accept -------------------------------------------------------------------------------------------------


async def test_accept_by_the_assigned_rm(client, auth):
    _, _, a = await _one(client, auth)
    await advance(client, auth.admin, 600)
    response = await client.patch(f"{API}/allocations/{a['id']}/accept", headers=auth.rm(uuid.UUID(a["rm_id"])))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["accepted_at"], body["first_action_at"]) == (
        "ACCEPTED", "2026-01-17T10:40:00Z", "2026-01-17T10:40:00Z")
    await advance(client, auth.admin, 60)
    again = await client.patch(f"{API}/allocations/{a['id']}/accept", headers=auth.rm(uuid.UUID(a["rm_id"])))
    assert again.status_code == 200, again.text
    assert again.json() == body  # unchanged


async def test_accept_someone_elses_allocation_404(client, auth):
    _, rms, a = await _one(client, auth)
    other = next(rm for rm in rms if rm["id"] != a["rm_id"])
    response = await client.patch(f"{API}/allocations/{a['id']}/accept", headers=auth.rm(uuid.UUID(other["id"])))
    assert_problem(response, 404, "allocation_not_found")
    unknown = await client.patch(f"{API}/allocations/{uuid.uuid4()}/accept", headers=auth.rm(uuid.UUID(a["rm_id"])))
    assert_problem(unknown, 404, "allocation_not_found")


@pytest.mark.parametrize("role", ["SUPERVISOR", "SALES_ADMIN", "SERVICE"])
async def test_only_rms_accept_or_reject_403(client, auth, role):
    _, _, a = await _one(client, auth)
    for verb, body in (("accept", None), ("reject", {"reason": "no"})):
        response = await client.patch(f"{API}/allocations/{a['id']}/{verb}", json=body, headers=auth.headers(role))
        assert_problem(response, 403, "forbidden")


async def test_accepting_a_reassigned_or_expired_allocation_409(client, auth):
    _, rms, a = await _one(client, auth, count=3)
    rejected = await client.patch(f"{API}/allocations/{a['id']}/reject", json={"reason": "busy"},
                                  headers=auth.rm(uuid.UUID(a["rm_id"])))
    assert rejected.status_code == 200, rejected.text
    response = await client.patch(f"{API}/allocations/{a['id']}/accept", headers=auth.rm(uuid.UUID(a["rm_id"])))
    assert_problem(response, 409, "allocation_not_live")

    second = rejected.json()["next_allocation"]
    await advance(client, auth.admin, 2 * 3600 + 1)
    sweep = await client.post(f"{API}/admin/jobs/sla-sweep/run", headers=auth.admin)
    assert sweep.status_code == 200, sweep.text
    assert (await get_allocation(client, auth.admin, second["id"]))["status"] == "EXPIRED"
    response = await client.patch(f"{API}/allocations/{second['id']}/accept",
                                  headers=auth.rm(uuid.UUID(second["rm_id"])))
    assert_problem(response, 409, "allocation_not_live")


# --- reject -------------------------------------------------------------------------------------------------


async def test_reject_needs_a_reason_422(client, auth, engine):
    _, _, a = await _one(client, auth)
    before = await row_counts(engine)
    for body in ({}, {"reason": ""}):
        response = await client.patch(f"{API}/allocations/{a['id']}/reject", json=body,
                                      headers=auth.rm(uuid.UUID(a["rm_id"])))
        assert_problem(response, 422, "validation_error", loc=["body", "reason"])
    assert await row_counts(engine) == before


async def test_reject_reallocates_at_once_excluding_the_rejecter(client, auth, engine):
    _, rms, a = await _one(client, auth, count=2)
    response = await client.patch(f"{API}/allocations/{a['id']}/reject", json={"reason": "not my area"},
                                  headers=auth.rm(uuid.UUID(a["rm_id"])))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == a["id"] and body["status"] == "REASSIGNED"
    new = body["next_allocation"]
    assert new["rm_id"] != a["rm_id"] and new["lead_id"] == a["lead_id"]
    assert (new["is_reassignment"], new["previous_rm_id"]) == (True, a["rm_id"])
    assert new["reassignment_reason"].startswith("REJECTED")
    assert "not my area" in new["reassignment_reason"]
    fate = {c["rm_id"]: c.get("excluded_by") for c in new["decision"]["candidates"]}
    assert fate[a["rm_id"]] == "EXCLUDED"
    assert [x["id"] for x in await live_of_lead(client, auth.admin, a["lead_id"])] == [new["id"]]
    assert (await get_pipeline(client, auth.admin, a["pipeline_id"]))["rm_id"] == new["rm_id"]
    assert new["pipeline_id"] == a["pipeline_id"]
    load = await active_leads(engine)
    assert (load[a["rm_id"]], load[new["rm_id"]]) == (0, 1)
    [moved] = await event_data(engine, "sales.lead.reassigned")
    assert (moved["allocation_id"], moved["lead_id"], moved["from_rm_id"], moved["to_rm_id"]) == (
        new["id"], a["lead_id"], a["rm_id"], new["rm_id"])
    # The rejecting RM still sees the history of their own allocation.
    mine = await client.get(f"{API}/allocations/{a['id']}", headers=auth.rm(uuid.UUID(a["rm_id"])))
    assert mine.status_code == 200 and mine.json()["status"] == "REASSIGNED"


async def test_reject_with_nobody_else_queues(client, auth, engine):
    _, _, a = await _one(client, auth, count=1)
    response = await client.patch(f"{API}/allocations/{a['id']}/reject", json={"reason": "busy"},
                                  headers=auth.rm(uuid.UUID(a["rm_id"])))
    assert response.status_code == 200, response.text
    assert response.json()["next_allocation"] is None and response.json()["queued"]["status"] == "QUEUED"
    assert response.json()["status"] == "REASSIGNED"
    assert (await active_leads(engine))[a["rm_id"]] == 0


# --- reassign -----------------------------------------------------------------------------------------------


async def test_supervisor_reassigns_to_a_named_rm(client, auth, engine):
    team, rms, a = await _one(client, auth, count=2)
    target = next(rm for rm in rms if rm["id"] != a["rm_id"])
    await advance(client, auth.admin, 1800)
    response = await client.post(f"{API}/allocations/{a['id']}/reassign",
                                 json={"to_rm_id": target["id"], "reason": "balance load"},
                                 headers=auth.supervisor(uuid.UUID(team["id"])))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["previous"]["status"] == "REASSIGNED" and body["previous"]["id"] == a["id"]
    new = body
    assert (new["rm_id"], new["allocation_type"], new["is_reassignment"]) == (target["id"], "MANUAL", True)
    assert (new["previous_rm_id"], new["reassignment_reason"]) == (a["rm_id"], "balance load")
    assert new["sla_deadline"] == "2026-01-17T13:00:00Z"  # reset_sla defaults to true: a fresh 2 h window
    assert (await get_pipeline(client, auth.admin, a["pipeline_id"]))["rm_id"] == target["id"]
    [moved] = await event_data(engine, "sales.lead.reassigned")
    assert (moved["from_rm_id"], moved["to_rm_id"]) == (a["rm_id"], target["id"])


@pytest.mark.parametrize(("reset_sla", "deadline"), [(True, "2026-01-17T13:00:00Z"), (False, "2026-01-17T12:30:00Z")],
                         ids=["LAR-006-reset-sla", "LAR-006-keep-sla"])
async def test_reassign_by_engine_with_or_without_sla_reset(client, auth, reset_sla, deadline):
    _, _, a = await _one(client, auth, count=3)
    await advance(client, auth.admin, 1800)
    response = await client.post(f"{API}/allocations/{a['id']}/reassign",
                                 json={"reason": "rebalance", "reset_sla": reset_sla}, headers=auth.admin)
    assert response.status_code == 200, response.text
    new = response.json()
    assert new["rm_id"] != a["rm_id"] and new["allocation_type"] == "AUTO"
    assert new["sla_deadline"] == deadline
    pipeline = await get_pipeline(client, auth.admin, a["pipeline_id"])
    assert pipeline["sla_deadline"] == deadline and pipeline["rm_id"] == new["rm_id"]


async def test_reassign_non_live_409_and_other_team_404(client, auth):
    team, rms, a = await _one(client, auth, count=3)
    other_team = await make_team(client, auth.admin)
    hidden = await client.post(f"{API}/allocations/{a['id']}/reassign", json={"reason": "x"},
                               headers=auth.supervisor(uuid.UUID(other_team["id"])))
    assert_problem(hidden, 404, "allocation_not_found")
    for role in ("RM", "SERVICE", "FINANCE_ADMIN"):
        denied = await client.post(f"{API}/allocations/{a['id']}/reassign", json={"reason": "x"},
                                   headers=auth.headers(role))
        assert_problem(denied, 403, "forbidden")
    moved = await client.post(f"{API}/allocations/{a['id']}/reassign", json={"reason": "x"}, headers=auth.admin)
    assert moved.status_code == 200, moved.text
    again = await client.post(f"{API}/allocations/{a['id']}/reassign", json={"reason": "x"}, headers=auth.admin)
    assert_problem(again, 409, "allocation_not_live")


async def test_reassign_to_full_rm_409_and_nothing_changes(client, auth, engine):
    team = await make_team(client, auth.admin)
    await start(client, auth.admin)
    rm = await make_rm(client, auth.admin, team_id=team["id"], name="Free")
    full = await make_rm(client, auth.admin, team_id=team["id"], name="Full", capacity=0)
    a = await allocated(client, auth.headers("SERVICE"))
    before, load = await row_counts(engine), await active_leads(engine)
    response = await client.post(f"{API}/allocations/{a['id']}/reassign",
                                 json={"to_rm_id": full["id"], "reason": "x"}, headers=auth.admin)
    assert_problem(response, 409, "rm_at_capacity")
    assert await row_counts(engine) == before and await active_leads(engine) == load
    assert (await get_allocation(client, auth.admin, a["id"]))["status"] == "PENDING"
    over = await client.post(f"{API}/allocations/{a['id']}/reassign",
                             json={"to_rm_id": full["id"], "reason": "x", "override_capacity": True},
                             headers=auth.admin)
    assert over.status_code == 200, over.text
    assert over.json()["over_capacity"] is True
    assert (await active_leads(engine)) == {rm["id"]: 0, full["id"]: 1}


# --- bulk reassign ------------------------------------------------------------------------------------------


async def test_bulk_reassign_moves_all(client, auth, engine):
    await start(client, auth.admin)
    team, rms = await city_with_rms(client, auth.admin, count=2)
    target = await make_rm(client, auth.admin, team_id=team["id"], name="Target", localities=[], zone="North")
    service = auth.headers("SERVICE")
    allocations = [await allocated(client, service) for _ in range(3)]
    response = await client.post(f"{API}/allocations/bulk-reassign", json={
        "allocation_ids": [a["id"] for a in allocations], "to_rm_id": target["id"], "reason": "RM left"},
        headers=auth.supervisor(uuid.UUID(team["id"])))
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["allocation_id"] for r in results] == [a["id"] for a in allocations]
    assert all(r["ok"] and r["rm_id"] == target["id"] and r["new_allocation_id"] for r in results)
    for a in allocations:
        assert (await get_allocation(client, auth.admin, a["id"]))["status"] == "REASSIGNED"
    load = await active_leads(engine)
    assert load[target["id"]] == 3 and sum(load.values()) == 3
    assert len(await event_data(engine, "sales.lead.reassigned")) == 3


async def test_bulk_reassign_is_all_or_nothing(client, auth, engine):
    await start(client, auth.admin)
    team, rms = await city_with_rms(client, auth.admin, count=2)
    target = await make_rm(client, auth.admin, team_id=team["id"], name="Target", localities=[], zone="North")
    service = auth.headers("SERVICE")
    allocations = [await allocated(client, service) for _ in range(3)]
    done = await client.post(f"{API}/allocations/{allocations[1]['id']}/reassign", json={"reason": "x"},
                             headers=auth.admin)
    assert done.status_code == 200, done.text
    before, load = await row_counts(engine), await active_leads(engine)
    missing = str(uuid.uuid4())
    ids = [allocations[0]["id"], allocations[1]["id"], allocations[2]["id"], missing]
    response = await client.post(f"{API}/allocations/bulk-reassign", json={
        "allocation_ids": ids, "to_rm_id": target["id"], "reason": "RM left"}, headers=auth.admin)
    body = assert_problem(response, 409, "bulk_reassign_failed")
    results = {r["allocation_id"]: r for r in body["results"]}
    assert list(results) == ids
    assert results[allocations[0]["id"]]["ok"] and results[allocations[2]["id"]]["ok"]
    assert results[allocations[1]["id"]]["code"] == "allocation_not_live"
    assert results[missing]["code"] == "allocation_not_found"
    # Nothing changed: the originals are still live with their RMs, no rows, no capacity moved.
    for a in (allocations[0], allocations[2]):
        after = await get_allocation(client, auth.admin, a["id"])
        assert (after["status"], after["rm_id"]) == ("PENDING", a["rm_id"])
        assert [x["id"] for x in await live_of_lead(client, auth.admin, a["lead_id"])] == [a["id"]]
    assert await row_counts(engine) == before and await active_leads(engine) == load


async def test_bulk_reassign_validation_and_roles(client, auth):
    await start(client, auth.admin)
    empty = await client.post(f"{API}/allocations/bulk-reassign", json={"allocation_ids": [], "reason": "x"},
                              headers=auth.admin)
    assert_problem(empty, 422, "validation_error", loc=["body", "allocation_ids"])
    no_reason = await client.post(f"{API}/allocations/bulk-reassign", json={"allocation_ids": [str(uuid.uuid4())]},
                                  headers=auth.admin)
    assert_problem(no_reason, 422, "validation_error", loc=["body", "reason"])
    rm = await client.post(f"{API}/allocations/bulk-reassign",
                           json={"allocation_ids": [str(uuid.uuid4())], "reason": "x"}, headers=auth.headers("RM"))
    assert_problem(rm, 403, "forbidden")


async def test_reassign_by_engine_with_nobody_else_queues_202(client, auth, engine):
    """LAR-007: a supervisor's reassignment that no other RM can take queues the lead (202)."""
    _, _, a = await _one(client, auth, count=1)
    response = await client.post(f"{API}/allocations/{a['id']}/reassign", json={"reason": "rebalance"},
                                 headers=auth.admin)
    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["lead_id"], body["status"]) == (a["lead_id"], "QUEUED")
    assert body["previous"]["id"] == a["id"] and body["previous"]["status"] == "REASSIGNED"
    assert (await active_leads(engine))[a["rm_id"]] == 0


async def test_a_rejected_lead_takes_the_audit_chain_after_its_new_rm(client, auth, engine):
    """Issue 19: the audit partition's lock is the last the reject's transaction takes (after the new RM's claim),
    as in an allocation; taken first, it could deadlock with an allocation holding that RM."""
    from sqlalchemy import event

    _, rms, a = await _one(client, auth, count=2)
    statements: list[str] = []
    listener = lambda _c, _cur, sql, *_a: statements.append(" ".join(sql.split()))  # noqa: E731
    event.listen(engine.sync_engine, "before_cursor_execute", listener)
    try:
        response = await client.patch(f"{API}/allocations/{a['id']}/reject", json={"reason": "not my area"},
                                      headers=auth.rm(uuid.UUID(a["rm_id"])))
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", listener)
    assert response.status_code == 200, response.text
    assert response.json()["next_allocation"]["rm_id"] != a["rm_id"]
    chain = [i for i, sql in enumerate(statements) if "audit_chain" in sql]
    claims = [i for i, sql in enumerate(statements) if sql.startswith("UPDATE rms")]
    assert chain and claims and max(claims) < min(chain)
