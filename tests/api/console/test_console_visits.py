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


# --- the planner form, re-planning, outcomes and tasks from the console ---------------------------------------

async def _shortlisted(client, auth, engine, listings=3):  # type: ignore[no-untyped-def]
    """The visits setup with every listing on a shortlist of the pipeline, and the RM signed in."""
    from tests.api.console.test_console_auth import _csrf
    from tests.api.journey.helpers import save

    s = await setup(client, auth, engine, listings=listings)
    pid = s["pipeline"]["id"]
    assert (await save(client, s["rm_headers"], pid)).status_code in (200, 201)
    r = await client.post(f"{API}/pipelines/{pid}/shortlists", headers=s["rm_headers"],
                          json={"title": "Visits", "listing_ids": [x["id"] for x in s["listings"]]})
    assert r.status_code == 201, r.text
    await _sign_in(client, await _user(engine, role="RM", rm_id=s["rm"]["id"]))
    page = await client.get(f"/console/pipelines/{pid}/visit-plans/new")
    assert page.status_code == 200, page.text
    s["csrf"], s["planner"] = _csrf(page.text), page.text
    return s


def _plan_form(s, ids, **extra):  # type: ignore[no-untyped-def]
    form = {"csrf_token": s["csrf"], "date": "2026-01-18", "window_start": "08:00", "window_end": "14:00",
            "visit_minutes": "30", "start_lat": "12.93", "start_lon": "77.62", "stop": ids, **extra}
    return form


async def test_the_rm_plans_visits_from_the_shortlist_in_the_console(client, auth, engine):
    """Issue 15 §7 (US-SALE-013): the planner form offers the shortlisted listings; the plan it makes is ordered
    for the least travel, the visits are requested and the pipeline moves to VISIT_SCHEDULED."""
    s = await _shortlisted(client, auth, engine)
    pid, ids = s["pipeline"]["id"], [x["id"] for x in s["listings"]]
    assert_csp_clean(s["planner"])
    assert all(f'value="{i}"' in s["planner"] for i in ids)
    detail = await client.get(f"/console/pipelines/{pid}")
    assert f'href="/console/pipelines/{pid}/visit-plans/new"' in detail.text
    r = await client.post(f"/console/pipelines/{pid}/visit-plans", data=_plan_form(s, list(reversed(ids))))
    assert r.status_code == 303, r.text
    plan_id = r.headers["location"].split("/")[-1].split("?")[0]
    page = await client.get(r.headers["location"])
    assert page.status_code == 200 and "Visit plan created" in page.text
    assert '<svg id="itinerary"' in page.text and page.text.count('data-kind="stop"') == 3
    plan = (await client.get(f"{API}/visit-plans/{plan_id}", headers=s["rm_headers"])).json()
    assert [x["listing_id"] for x in plan["itinerary"]] == ids  # nearest first along the line north
    assert (plan["travel_minutes"], plan["wait_minutes"]) == (12, 0)
    pipeline = (await client.get(f"{API}/pipelines/{pid}", headers=s["rm_headers"])).json()
    assert pipeline["stage"] == "VISIT_SCHEDULED"


async def test_the_planner_starts_from_a_listing_and_takes_owner_windows(client, auth, engine):
    s = await _shortlisted(client, auth, engine)
    pid, ids = s["pipeline"]["id"], [x["id"] for x in s["listings"]]
    form = _plan_form(s, ids[:2], start_lat="", start_lon="", start_listing=ids[2],
                      **{f"owner_start_{ids[1]}": "09:00", f"owner_end_{ids[1]}": "10:00"})
    r = await client.post(f"/console/pipelines/{pid}/visit-plans", data=form)
    assert r.status_code == 303, r.text
    plan = (await client.get(f"{API}/visit-plans/{r.headers['location'].split('/')[-1].split('?')[0]}",
                             headers=s["rm_headers"])).json()
    assert plan["start"] == {"lat": s["listings"][2]["lat"], "lon": s["listings"][2]["lon"]}
    second = next(x for x in plan["itinerary"] if x["listing_id"] == ids[1])
    assert second["window_source"] == "REQUEST" and second["start_at"] >= "2026-01-18T09:00:00Z"


async def test_an_infeasible_plan_names_the_listing_and_writes_nothing(client, auth, engine):
    from sales.visits.models import visit_plans
    from tests.checks import count

    s = await _shortlisted(client, auth, engine)
    pid, ids = s["pipeline"]["id"], [x["id"] for x in s["listings"]]
    form = _plan_form(s, ids, **{f"owner_start_{ids[0]}": "15:00", f"owner_end_{ids[0]}": "16:00"})
    r = await client.post(f"/console/pipelines/{pid}/visit-plans", data=form)
    assert r.status_code == 422
    error = r.text[r.text.index('id="planner-error"'):]
    assert "cannot all be scheduled" in error and "Koramangala" in error
    assert 'value="15:00"' in r.text  # the form comes back as typed
    for bad, message in (({"stop": []}, "Choose at least one listing"),
                         ({"start_lat": "north"}, "Start: enter a latitude"),
                         ({"window_end": "07:00"}, "after window_start")):
        r = await client.post(f"/console/pipelines/{pid}/visit-plans", data={**_plan_form(s, ids), **bad})
        assert r.status_code == 422 and message in r.text, (bad, r.text[:200])
    assert await count(engine, visit_plans) == 0


async def test_the_planner_is_scoped_and_needs_the_form_token(client, auth, engine):
    s = await _shortlisted(client, auth, engine)
    pid, ids = s["pipeline"]["id"], [x["id"] for x in s["listings"]]
    form = _plan_form(s, ids)
    assert (await client.post(f"/console/pipelines/{pid}/visit-plans",
                              data={**form, "csrf_token": "forged"})).status_code == 403
    _, other = await make_rm_with_team(client, auth.admin)
    await _sign_in(client, await _user(engine, role="RM", rm_id=other["id"]))
    assert (await client.get(f"/console/pipelines/{pid}/visit-plans/new")).status_code == 404
    await _sign_in(client, await _user(engine, role="SUPPORT_AGENT"))
    assert (await client.get(f"/console/pipelines/{pid}/visit-plans/new")).status_code == 403


async def test_replan_and_outcomes_from_the_plan_page(client, auth, engine):
    """Issue 15 §3: the RM re-plans and records each visited stop's outcome; the last completes the plan."""
    s = await _shortlisted(client, auth, engine, listings=2)
    pid, ids = s["pipeline"]["id"], [x["id"] for x in s["listings"]]
    r = await client.post(f"/console/pipelines/{pid}/visit-plans", data=_plan_form(s, ids))
    plan_url = r.headers["location"].split("?")[0]
    plan_id = plan_url.split("/")[-1]
    r = await client.post(f"{plan_url}/replan", data={"csrf_token": s["csrf"]})
    assert r.status_code == 303 and r.headers["location"].endswith("saved=replanned")
    plan = (await client.get(f"{API}/visit-plans/{plan_id}", headers=s["rm_headers"])).json()
    assert plan["version"] == 2
    first, second = plan["itinerary"]
    r = await client.post(f"{plan_url}/stops/{first['id']}", data={"csrf_token": s["csrf"], "interested": "yes",
                                                                    "rating": "4", "notes": "Loved the balcony"})
    assert r.status_code == 303, r.text
    page = (await client.get(f"{plan_url}?saved=outcome")).text
    assert "Outcome saved" in page and "4/5" in page and "interested" in page
    r = await client.post(f"{plan_url}/stops/{second['id']}", data={"csrf_token": s["csrf"], "rating": "9"})
    assert r.status_code == 422 and "interested, rating or notes" in r.text
    r = await client.post(f"{plan_url}/stops/{second['id']}", data={"csrf_token": s["csrf"], "interested": "no"})
    assert r.status_code == 303
    plan = (await client.get(f"{API}/visit-plans/{plan_id}", headers=s["rm_headers"])).json()
    assert [(x["status"], x["interested"], x["rating"]) for x in plan["itinerary"]] == [
        ("COMPLETED", True, 4), ("COMPLETED", False, None)]
    assert plan["status"] == "COMPLETED"
    r = await client.post(f"{plan_url}/replan", data={"csrf_token": s["csrf"]})
    assert r.status_code == 409 and "COMPLETED" in r.text
    pipeline = (await client.get(f"{API}/pipelines/{pid}", headers=s["rm_headers"])).json()
    assert pipeline["stage"] == "VISIT_COMPLETED"


async def test_the_rm_marks_a_task_done_from_the_desk(client, auth, engine):
    from tests.api.console.test_console_auth import _csrf

    s = await setup(client, auth, engine, listings=1)
    r = await client.post(f"{API}/tasks", json={"type": "CALL", "due_at": "2026-01-17T11:00:00Z",
                                                "notes": "Call about the 2BHK", "pipeline_id": s["pipeline"]["id"]},
                          headers=s["rm_headers"])
    task = r.json()
    await _sign_in(client, await _user(engine, role="RM", rm_id=s["rm"]["id"]))
    desk = (await client.get("/console/")).text
    assert f'action="/console/tasks/{task["id"]}/done"' in desk
    r = await client.post(f"/console/tasks/{task['id']}/done", data={"csrf_token": _csrf(desk)})
    assert r.status_code == 303
    desk = (await client.get(r.headers["location"])).text
    assert "Task marked done" in desk and "Call about the 2BHK" not in desk
    got = (await client.get(f"{API}/tasks/{task['id']}", headers=s["rm_headers"])).json()
    assert got["status"] == "DONE"
    r = await client.post(f"/console/tasks/{task['id']}/done", data={"csrf_token": _csrf(desk)})
    assert r.status_code == 409  # already DONE
    _, other = await make_rm_with_team(client, auth.admin)
    await _sign_in(client, await _user(engine, role="RM", rm_id=other["id"]))
    other_desk = (await client.get("/console/")).text
    assert (await client.post(f"/console/tasks/{task['id']}/done",
                              data={"csrf_token": _csrf(other_desk)})).status_code == 404
