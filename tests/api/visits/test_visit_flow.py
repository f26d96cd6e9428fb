"""Issue 15 §2-3: Scheduling's answers (confirmed, declined -> re-plan + customer told, completed with its
outcome), the RM's outcome per stop, the plan's completion (pipeline -> VISIT_COMPLETED, follow-up task), and the
visit-reminders job on the test clock (24 h and 1 h before, customer and RM, each once)."""
from __future__ import annotations

import uuid

from sqlalchemy import select

from sales.notifications.models import notifications
from sales.tasks.models import tasks
from tests.allocation_builders import run_job
from tests.api.visits.helpers import DAY, get_plan, made_plan, scheduling, setup
from tests.builders import API
from tests.checks import events


async def _notifications(engine, template):  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        rows = await conn.execute(select(notifications).where(notifications.c.template == template)
                                  .order_by(notifications.c.created_at, notifications.c.recipient_type))
        return list(rows)


async def _tasks(engine):  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        return list(await conn.execute(select(tasks)))


async def _stage(client, headers, pipeline_id):  # type: ignore[no-untyped-def]
    return (await client.get(f"{API}/pipelines/{pipeline_id}", headers=headers)).json()["stage"]


async def test_requested_confirmed_then_completed_by_scheduling(client, auth, engine):
    s = await setup(client, auth, engine, listings=2)
    plan = await made_plan(client, s["rm_headers"], s["pipeline"]["id"], [x["id"] for x in s["listings"]])
    first, second = plan["itinerary"]
    visit_id = str(uuid.uuid4())
    await scheduling(client, auth, "visit.confirmed", request_id=first["id"], visit_id=visit_id)
    after = await get_plan(client, s["rm_headers"], plan["id"])
    assert after["itinerary"][0]["status"] == "CONFIRMED" and after["itinerary"][0]["visit_id"] == visit_id
    await scheduling(client, auth, "visit.completed", request_id=first["id"], visit_id=visit_id,
                     outcome="INTERESTED", interested=True, rating=4)
    after = await get_plan(client, s["rm_headers"], plan["id"])
    done = after["itinerary"][0]
    assert (done["status"], done["outcome"], done["interested"], done["rating"]) == ("COMPLETED", "INTERESTED", True, 4)
    # one stop still to visit: the plan and the pipeline wait (the pipelines handler leaves planned visits alone)
    assert after["status"] == "ACTIVE" and await _stage(client, s["rm_headers"], s["pipeline"]["id"]) == "VISIT_SCHEDULED"
    await scheduling(client, auth, "visit.completed", request_id=second["id"], outcome="NOT_INTERESTED")
    assert (await get_plan(client, s["rm_headers"], plan["id"]))["status"] == "COMPLETED"
    assert await _stage(client, s["rm_headers"], s["pipeline"]["id"]) == "VISIT_COMPLETED"
    [task] = await _tasks(engine)
    assert (task.type, task.status, str(task.pipeline_id), str(task.rm_id)) == (
        "VISIT_FOLLOW_UP", "OPEN", s["pipeline"]["id"], s["rm"]["id"])


async def test_a_visit_completed_without_a_plan_still_moves_the_pipeline(client, auth, engine):
    s = await setup(client, auth, engine, listings=1)
    await scheduling(client, auth, "visit.completed", pipeline_id=s["pipeline"]["id"], visit_id=str(uuid.uuid4()))
    assert await _stage(client, s["rm_headers"], s["pipeline"]["id"]) == "VISIT_COMPLETED"


async def test_a_decline_replans_the_rest_and_tells_the_customer(client, auth, engine):
    s = await setup(client, auth, engine)
    a, b, c = (x["id"] for x in s["listings"])
    plan = await made_plan(client, s["rm_headers"], s["pipeline"]["id"], [a, b, c])
    stop_a = plan["itinerary"][0]
    await scheduling(client, auth, "visit.declined", request_id=stop_a["id"], reason="owner travelling")
    after = await get_plan(client, s["rm_headers"], plan["id"])
    assert [x["listing_id"] for x in after["itinerary"]] == [b, c] and after["version"] == 2
    assert after["itinerary"][0]["start_at"] == f"{DAY}T08:07:00Z"  # straight to b now
    [declined] = after["unscheduled"]
    assert (declined["listing_id"], declined["status"], declined["decline_reason"]) == (a, "DECLINED",
                                                                                        "owner travelling")
    assert len(await events(engine, type="sales.visit.requested")) == 5  # b and c asked again for their new slots
    told = await _notifications(engine, "visit_declined")
    assert {(n.recipient_type, str(n.recipient_id)) for n in told} == {
        ("CUSTOMER", str(s["lead"]["customer_id"])), ("RM", s["rm"]["id"])}
    assert told[0].data["declined_listing_id"] == a


async def test_when_every_stop_is_declined_the_plan_closes_with_a_call_task(client, auth, engine):
    s = await setup(client, auth, engine, listings=1)
    plan = await made_plan(client, s["rm_headers"], s["pipeline"]["id"], [s["listings"][0]["id"]])
    await scheduling(client, auth, "visit.declined", request_id=plan["itinerary"][0]["id"])
    assert (await get_plan(client, s["rm_headers"], plan["id"]))["status"] == "COMPLETED"
    assert await _stage(client, s["rm_headers"], s["pipeline"]["id"]) == "VISIT_SCHEDULED"
    [task] = await _tasks(engine)
    assert task.type == "CALL"


async def test_the_rm_records_outcomes_and_the_last_one_completes_the_plan(client, auth, engine):
    s = await setup(client, auth, engine, listings=2)
    plan = await made_plan(client, s["rm_headers"], s["pipeline"]["id"], [x["id"] for x in s["listings"]])
    first, second = plan["itinerary"]
    path = f"{API}/visit-plans/{plan['id']}/stops"
    r = await client.patch(f"{path}/{first['id']}", json={"interested": True, "rating": 5, "notes": "Loved the light"},
                           headers=s["rm_headers"])
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["interested"], r.json()["rating"], r.json()["notes"]) == (
        "COMPLETED", True, 5, "Loved the light")
    assert await _tasks(engine) == []
    r = await client.patch(f"{path}/{second['id']}", json={"interested": False, "rating": 2},
                           headers=s["rm_headers"])
    assert r.status_code == 200
    assert await _stage(client, s["rm_headers"], s["pipeline"]["id"]) == "VISIT_COMPLETED"
    [task] = await _tasks(engine)
    assert task.type == "VISIT_FOLLOW_UP" and "1 marked interested" in task.notes
    # a correction later keeps one task and one stage change
    r = await client.patch(f"{path}/{second['id']}", json={"rating": 3}, headers=s["rm_headers"])
    assert r.status_code == 200 and r.json()["rating"] == 3
    assert len(await _tasks(engine)) == 1


async def test_outcome_input_scope_and_state(client, auth, engine):
    s = await setup(client, auth, engine, listings=2)
    plan = await made_plan(client, s["rm_headers"], s["pipeline"]["id"], [x["id"] for x in s["listings"]])
    first, second = plan["itinerary"]
    path = f"{API}/visit-plans/{plan['id']}/stops/{first['id']}"
    for body, field in (({"rating": 6}, "rating"), ({"rating": 0}, "rating"), ({"interested": "yes"}, "interested"),
                        ({}, None), ({"rating": 3, "extra": 1}, "extra")):
        r = await client.patch(path, json=body, headers=s["rm_headers"])
        assert r.status_code == 422, r.text
        if field:
            assert any(field in e["loc"] for e in r.json()["errors"])
    assert (await client.patch(path, json={"rating": 3})).status_code == 401
    assert (await client.patch(path, json={"rating": 3}, headers=auth.headers("FINANCE_ADMIN"))).status_code == 403
    assert (await client.patch(path, json={"rating": 3}, headers=auth.rm(uuid.uuid4()))).status_code == 404
    r = await client.patch(f"{API}/visit-plans/{plan['id']}/stops/{uuid.uuid4()}", json={"rating": 3},
                           headers=s["rm_headers"])
    assert r.status_code == 404
    await scheduling(client, auth, "visit.declined", request_id=second["id"])
    r = await client.patch(f"{API}/visit-plans/{plan['id']}/stops/{second['id']}", json={"rating": 3},
                           headers=s["rm_headers"])
    assert r.status_code == 409 and r.json()["code"] == "stop_not_visitable"
    assert (await get_plan(client, s["rm_headers"], plan["id"]))["itinerary"][0]["status"] == "REQUESTED"


async def test_reminders_24h_and_1h_before_to_customer_and_rm_each_once(client, auth, engine):
    """The clock stands at 2026-01-17T10:30Z; the visits start 2026-01-19T08:04Z and 08:38Z."""
    s = await setup(client, auth, engine, listings=2)
    await made_plan(client, s["rm_headers"], s["pipeline"]["id"], [x["id"] for x in s["listings"]], date="2026-01-19")

    async def at(now: str) -> int:
        r = await client.put(f"{API}/admin/clock", json={"now": now}, headers=auth.admin)
        assert r.status_code == 200
        return (await run_job(client, auth.admin, "visit-reminders"))["processed"]

    assert await at("2026-01-17T10:30:00Z") == 0  # more than 24 h ahead
    assert await at("2026-01-18T08:04:00Z") == 1  # 24 h before the first visit
    assert await at("2026-01-18T08:40:00Z") == 1  # and the second
    assert await at("2026-01-18T08:45:00Z") == 0  # each once
    reminded = await _notifications(engine, "visit_reminder")
    assert len(reminded) == 4 and {n.recipient_type for n in reminded} == {"CUSTOMER", "RM"}
    assert {n.data["before"] for n in reminded} == {"24h"}
    customer = [n for n in reminded if n.recipient_type == "CUSTOMER"]
    assert {str(n.recipient_id) for n in customer} == {str(s["lead"]["customer_id"])}
    assert await at("2026-01-19T07:10:00Z") == 1  # 1 h before the first
    assert await at("2026-01-19T07:45:00Z") == 1
    assert await at("2026-01-19T07:50:00Z") == 0
    one_hour = [n for n in await _notifications(engine, "visit_reminder") if n.data["before"] == "1h"]
    assert len(one_hour) == 4
    assert await at("2026-01-19T09:00:00Z") == 0  # the visits have started
    assert len(await events(engine, type="sales.notification.requested")) == 8


async def test_no_reminder_for_a_declined_visit(client, auth, engine):
    s = await setup(client, auth, engine, listings=1)
    plan = await made_plan(client, s["rm_headers"], s["pipeline"]["id"], [s["listings"][0]["id"]])
    await scheduling(client, auth, "visit.declined", request_id=plan["itinerary"][0]["id"])
    await client.put(f"{API}/admin/clock", json={"now": "2026-01-18T07:30:00Z"}, headers=auth.admin)
    assert (await run_job(client, auth.admin, "visit-reminders"))["processed"] == 0


async def test_an_answer_for_an_unknown_request_changes_nothing(client, auth, engine):
    s = await setup(client, auth, engine, listings=1)
    await scheduling(client, auth, "visit.confirmed", request_id=str(uuid.uuid4()))
    await scheduling(client, auth, "visit.declined", stop_id=str(uuid.uuid4()))
    assert await _stage(client, s["rm_headers"], s["pipeline"]["id"]) == "NEW"
