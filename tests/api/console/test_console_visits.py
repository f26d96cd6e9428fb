"""Issue 15 §7: the console's visit plan page draws the itinerary as SVG (no map tiles, no inline script or
style), the pipeline page lists its plans, and the RM's desk shows their open tasks with overdue ones flagged."""
from __future__ import annotations

import re
import uuid

from tests.allocation_builders import advance
from tests.api.console.test_console_auth import _sign_in, _user
from tests.api.console.test_customer_panel import assert_csp_clean
from tests.api.visits.helpers import made_plan, scheduling, setup
from tests.builders import API, make_rm_with_team


async def test_the_visit_plan_page_draws_the_route(client, auth, engine):
    s = await setup(client, auth, engine)
    plan = await made_plan(client, s["rm_headers"], s["pipeline"]["id"], [x["id"] for x in s["listings"]])
    await scheduling(client, auth, "visit.declined", request_id=plan["itinerary"][2]["id"], reason="owner away")
    await _sign_in(client, await _user(engine, role="RM", rm_id=s["rm"]["id"]))
    page = await client.get(f"/console/visit-plans/{plan['id']}")
    assert page.status_code == 200, page.text
    html = page.text
    assert_csp_clean(html)
    svg = html[html.index('<svg id="itinerary"'):html.index("</svg>")]
    assert "style=" not in svg and "http" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert len(re.findall(r'data-kind="stop"', svg)) == 2 and svg.count('data-kind="start"') == 1
    assert svg.count('data-kind="unscheduled"') == 1
    route = re.search(r'<polyline points="([^"]+)"', svg).group(1).split()
    assert len(route) == 3  # start -> two stops
    assert "owner away" in html and "Declined" in html
    detail = await client.get(f"/console/pipelines/{s['pipeline']['id']}")
    assert f'href="/console/visit-plans/{plan["id"]}"' in detail.text


async def test_another_rm_gets_not_found(client, auth, engine):
    s = await setup(client, auth, engine, listings=1)
    plan = await made_plan(client, s["rm_headers"], s["pipeline"]["id"], [s["listings"][0]["id"]])
    _, other = await make_rm_with_team(client, auth.admin)
    await _sign_in(client, await _user(engine, role="RM", rm_id=other["id"]))
    assert (await client.get(f"/console/visit-plans/{plan['id']}")).status_code == 404
    assert (await client.get(f"/console/visit-plans/{uuid.uuid4()}")).status_code == 404


async def test_the_desk_lists_open_tasks_with_overdue_flagged(client, auth, engine):
    s = await setup(client, auth, engine, listings=1)
    for due, notes in (("2026-01-17T11:00:00Z", "Call about the 2BHK"), ("2026-01-20T11:00:00Z", "Collect ID")):
        r = await client.post(f"{API}/tasks", json={"type": "CALL", "due_at": due, "notes": notes,
                                                    "pipeline_id": s["pipeline"]["id"]}, headers=s["rm_headers"])
        assert r.status_code == 201
    await advance(client, auth.admin, 3600)  # 11:30: the first is overdue
    await _sign_in(client, await _user(engine, role="RM", rm_id=s["rm"]["id"]))
    html = (await client.get("/console/")).text
    panel = html[html.index('<section id="tasks"'):]
    assert "2 open · 1 overdue" in panel and "Call about the 2BHK" in panel and "Collect ID" in panel
    assert panel.index("Call about the 2BHK") < panel.index("Collect ID") and panel.count("Overdue ·") == 1


async def test_the_supervisors_room_shows_overdue_tasks(client, auth, engine):
    s = await setup(client, auth, engine, listings=1)
    r = await client.post(f"{API}/tasks", json={"type": "DOCUMENTS", "due_at": "2026-01-17T11:00:00Z",
                                                "notes": "Collect the PAN card"}, headers=s["rm_headers"])
    assert r.status_code == 201
    await advance(client, auth.admin, 3600)
    await _sign_in(client, await _user(engine, role="SUPERVISOR", teams=[s["team"]["id"]]))
    html = (await client.get(f"/console/team?team_id={s['team']['id']}")).text
    panel = html[html.index('id="overdue-tasks"'):]
    assert "1 overdue" in panel and "Collect the PAN card" in panel and "Priya Patel" in panel
