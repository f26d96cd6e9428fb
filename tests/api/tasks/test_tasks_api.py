"""Issue 15 §4: /api/v1/sales/tasks: POST, GET with filters (rm_id, pipeline_id, status, due_from/due_to,
overdue) and a cursor, PATCH status DONE/CANCELLED; overdue flag; scoping (RM own, SUPERVISOR team,
SALES_ADMIN all); the stale-stage-tasks job."""
from __future__ import annotations

import uuid

from sales.tasks.models import tasks
from tests.allocation_builders import advance, run_job
from tests.builders import API, freeze_clock, make_pipeline, make_rm, make_rm_with_team
from tests.checks import audit_rows, count

TASKS = f"{API}/tasks"
NOW = "2026-01-17T10:30:00Z"


async def _world(client, auth):  # type: ignore[no-untyped-def]
    await freeze_clock(client, auth.admin, at=NOW)
    team, rm = await make_rm_with_team(client, auth.admin)
    peer = await make_rm(client, auth.admin, team_id=team["id"])
    _, stranger = await make_rm_with_team(client, auth.admin)
    pipeline = await make_pipeline(client, auth.admin, rm_id=rm["id"])
    return {"team": team, "rm": rm, "peer": peer, "stranger": stranger, "pipeline": pipeline,
            "rm_headers": auth.rm(uuid.UUID(rm["id"]))}


async def _create(client, headers, **body):  # type: ignore[no-untyped-def]
    r = await client.post(TASKS, json={"type": "CALL", "due_at": "2026-01-18T09:00:00Z", **body}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def test_create_defaults_to_the_pipelines_rm_and_is_audited(client, auth, engine):
    w = await _world(client, auth)
    task = await _create(client, auth.admin, pipeline_id=w["pipeline"]["id"], type="DOCUMENTS", notes="ID proof")
    assert (task["rm_id"], task["status"], task["type"], task["source"], task["overdue"]) == (
        w["rm"]["id"], "OPEN", "DOCUMENTS", "MANUAL", False)
    assert [a.action for a in await audit_rows(engine, entity_type="task")] == ["task.created"]
    mine = await _create(client, w["rm_headers"])  # an RM's own task without a pipeline
    assert mine["rm_id"] == w["rm"]["id"] and mine["pipeline_id"] is None


async def test_overdue_flag_and_filters(client, auth, engine):
    w = await _world(client, auth)
    early = await _create(client, w["rm_headers"], due_at="2026-01-17T12:00:00Z")
    late = await _create(client, w["rm_headers"], due_at="2026-01-19T12:00:00Z", pipeline_id=w["pipeline"]["id"])
    await advance(client, auth.admin, 2 * 3600)  # 12:30: `early` is overdue
    r = await client.get(TASKS, params={"overdue": "true"}, headers=w["rm_headers"])
    assert [t["id"] for t in r.json()["items"]] == [early["id"]] and r.json()["items"][0]["overdue"] is True
    r = await client.get(TASKS, params={"overdue": "false"}, headers=w["rm_headers"])
    assert [t["id"] for t in r.json()["items"]] == [late["id"]]
    r = await client.get(TASKS, params={"pipeline_id": w["pipeline"]["id"]}, headers=w["rm_headers"])
    assert [t["id"] for t in r.json()["items"]] == [late["id"]]
    r = await client.get(TASKS, params={"due_from": "2026-01-18T00:00:00Z", "due_to": "2026-01-20T00:00:00Z"},
                         headers=w["rm_headers"])
    assert [t["id"] for t in r.json()["items"]] == [late["id"]]
    r = await client.patch(f"{TASKS}/{early['id']}", json={"status": "DONE"}, headers=w["rm_headers"])
    assert r.status_code == 200 and r.json()["status"] == "DONE" and r.json()["overdue"] is False
    r = await client.get(TASKS, params={"status": "OPEN"}, headers=w["rm_headers"])
    assert [t["id"] for t in r.json()["items"]] == [late["id"]]
    r = await client.get(TASKS, params={"limit": 1}, headers=w["rm_headers"])
    assert len(r.json()["items"]) == 1 and r.json()["next_cursor"]
    r2 = await client.get(TASKS, params={"limit": 1, "cursor": r.json()["next_cursor"]}, headers=w["rm_headers"])
    assert [t["id"] for t in r2.json()["items"]] == [late["id"]] and r2.json()["next_cursor"] is None


async def test_close_once(client, auth, engine):
    w = await _world(client, auth)
    task = await _create(client, w["rm_headers"])
    r = await client.patch(f"{TASKS}/{task['id']}", json={"status": "CANCELLED", "notes": "customer travelling"},
                           headers=w["rm_headers"])
    assert r.status_code == 200 and (r.json()["status"], r.json()["notes"]) == ("CANCELLED", "customer travelling")
    assert r.json()["closed_at"] == NOW
    r = await client.patch(f"{TASKS}/{task['id']}", json={"status": "DONE"}, headers=w["rm_headers"])
    assert r.status_code == 409 and r.json()["code"] == "task_closed"


async def test_scoping(client, auth, engine):
    w = await _world(client, auth)
    mine = await _create(client, w["rm_headers"])
    peers = await _create(client, auth.rm(uuid.UUID(w["peer"]["id"])))
    strangers = await _create(client, auth.rm(uuid.UUID(w["stranger"]["id"])))
    ids = lambda r: {t["id"] for t in r.json()["items"]}  # noqa: E731
    assert ids(await client.get(TASKS, headers=w["rm_headers"])) == {mine["id"]}
    assert ids(await client.get(TASKS, headers=auth.supervisor(uuid.UUID(w["team"]["id"])))) == {mine["id"],
                                                                                                peers["id"]}
    assert ids(await client.get(TASKS, headers=auth.admin)) == {mine["id"], peers["id"], strangers["id"]}
    assert (await client.get(f"{TASKS}/{peers['id']}", headers=w["rm_headers"])).status_code == 404
    r = await client.patch(f"{TASKS}/{peers['id']}", json={"status": "DONE"}, headers=w["rm_headers"])
    assert r.status_code == 404
    assert (await client.get(TASKS)).status_code == 401
    assert (await client.get(TASKS, headers=auth.headers("FINANCE_ADMIN"))).status_code == 403
    assert (await client.post(TASKS, json={"type": "CALL", "due_at": NOW},
                              headers=auth.headers("CUSTOMER"))).status_code == 403
    # an RM cannot make tasks for someone else, nor on a pipeline out of scope
    r = await client.post(TASKS, json={"type": "CALL", "due_at": NOW, "rm_id": w["peer"]["id"]},
                          headers=w["rm_headers"])
    assert r.status_code in (403, 422)
    r = await client.post(TASKS, json={"type": "CALL", "due_at": NOW, "pipeline_id": w["pipeline"]["id"]},
                          headers=auth.rm(uuid.UUID(w["stranger"]["id"])))
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "pipeline_id"]


async def test_bad_input_writes_nothing(client, auth, engine):
    w = await _world(client, auth)
    for body, field in (({"type": "MEETING", "due_at": NOW}, "type"), ({"type": "CALL"}, "due_at"),
                        ({"type": "CALL", "due_at": "2026-01-18T09:00:00"}, "due_at"),
                        ({"type": "CALL", "due_at": NOW, "rm_id": str(uuid.uuid4())}, "rm_id"),
                        ({"type": "CALL", "due_at": NOW, "notes": "x" * 4001}, "notes")):
        r = await client.post(TASKS, json=body, headers=auth.admin)
        assert r.status_code == 422, (body, r.text)
        assert any(field in e["loc"] for e in r.json()["errors"])
    task = await _create(client, w["rm_headers"])
    r = await client.patch(f"{TASKS}/{task['id']}", json={"status": "OPEN"}, headers=w["rm_headers"])
    assert r.status_code == 422
    r = await client.get(TASKS, params={"overdue": "1"}, headers=w["rm_headers"])
    assert r.status_code == 422
    assert await count(engine, tasks) == 1


async def test_a_pipeline_stuck_in_its_stage_gets_one_call_task(client, auth, engine):
    w = await _world(client, auth)
    assert (await run_job(client, auth.admin, "stale-stage-tasks"))["processed"] == 0
    await advance(client, auth.admin, 7 * 24 * 3600)
    assert (await run_job(client, auth.admin, "stale-stage-tasks"))["processed"] == 1
    assert (await run_job(client, auth.admin, "stale-stage-tasks"))["processed"] == 0
    r = await client.get(TASKS, params={"pipeline_id": w["pipeline"]["id"]}, headers=w["rm_headers"])
    [task] = r.json()["items"]
    assert (task["type"], task["source"], task["rm_id"]) == ("CALL", "STAGE_AGE", w["rm"]["id"])
