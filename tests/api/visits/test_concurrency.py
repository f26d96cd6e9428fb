"""Issue 15: read-then-writes under real parallel requests (PostgreSQL: separate connections; SQLite: serialized
writers): one assisted lead per user, one close per task, a plan completed once with one follow-up task, no
checklist tick lost."""
from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import select

from sales.handoffs.models import handoffs
from sales.pipelines.models import sales_pipelines
from sales.tasks.models import tasks
from tests.allocation_builders import city_with_rms, set_clock
from tests.api.visits.helpers import made_plan, setup
from tests.builders import API
from tests.checks import count


async def test_concurrent_handoffs_to_assisted_make_one_lead(client, auth, engine):
    await set_clock(client, auth.admin, "2026-01-19T06:30:00Z")
    await city_with_rms(client, auth.admin)
    user_id = str(uuid.uuid4())
    body = {"user_id": user_id, "direction": "TO_ASSISTED", "reason": "help",
            "context": {"city": "Bangalore", "locality": "Koramangala"}}
    responses = await asyncio.gather(*(client.post(f"{API}/handoffs", json=body, headers=auth.headers("SERVICE"))
                                       for _ in range(6)))
    assert sorted(r.status_code for r in responses) == [201] + [409] * 5, [r.text for r in responses]
    assert await count(engine, handoffs) == 1 and await count(engine, sales_pipelines) == 1


async def test_concurrent_closes_of_a_task_close_it_once(client, auth, engine):
    s = await setup(client, auth, engine, listings=1)
    r = await client.post(f"{API}/tasks", json={"type": "CALL", "due_at": "2026-01-18T09:00:00Z"},
                          headers=s["rm_headers"])
    task_id = r.json()["id"]
    responses = await asyncio.gather(*(client.patch(f"{API}/tasks/{task_id}", json={"status": status},
                                                    headers=s["rm_headers"])
                                       for status in ("DONE", "CANCELLED") * 3))
    assert sorted(r.status_code for r in responses) == [200] + [409] * 5, [r.text for r in responses]


async def test_concurrent_last_outcomes_complete_the_plan_once(client, auth, engine):
    s = await setup(client, auth, engine)
    plan = await made_plan(client, s["rm_headers"], s["pipeline"]["id"], [x["id"] for x in s["listings"]])
    responses = await asyncio.gather(*(client.patch(f"{API}/visit-plans/{plan['id']}/stops/{stop['id']}",
                                                    json={"interested": True, "rating": 4}, headers=s["rm_headers"])
                                       for stop in plan["itinerary"]))
    assert [r.status_code for r in responses] == [200, 200, 200], [r.text for r in responses]
    async with engine.connect() as conn:
        made = list(await conn.execute(select(tasks.c.type)))
    assert [t.type for t in made] == ["VISIT_FOLLOW_UP"]
    r = await client.get(f"{API}/pipelines/{s['pipeline']['id']}/history", headers=s["rm_headers"])
    assert [h["to_stage"] for h in r.json()["items"]].count("VISIT_COMPLETED") == 1


async def test_concurrent_checklist_ticks_are_all_kept(client, auth, engine):
    s = await setup(client, auth, engine, listings=1)
    path = f"{API}/pipelines/{s['pipeline']['id']}/checklist"
    items = ["agreement_drafted", "token_amount_received", "id_documents_collected", "move_in_date_fixed"]
    responses = await asyncio.gather(*(client.patch(path, json={item: True}, headers=s["rm_headers"])
                                       for item in items))
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    final = (await client.get(path, headers=s["rm_headers"])).json()
    assert final["complete"] is True and final["version"] == 4
