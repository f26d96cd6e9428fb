"""Issue 15 §1: POST /pipelines/{id}/visit-plans orders the stops for the least travel + waiting within the
customer's and owners' windows (owner windows from scheduling.availability.updated when known), answers the
itinerary or 422 `infeasible` with the best plan of the others; GET /visit-plans/{id}; POST .../replan."""
from __future__ import annotations

import uuid

from sales.visits.models import visit_plans
from tests.allocation_builders import advance
from tests.api.visits.helpers import (DAY, create_plan, get_plan, made_plan, plan_body, scheduling, setup)
from tests.builders import API
from tests.checks import count, events


async def test_the_plan_orders_the_stops_along_the_shortest_route(client, auth, engine):
    s = await setup(client, auth, engine)
    a, b, c = (x["id"] for x in s["listings"])
    plan = await made_plan(client, s["rm_headers"], s["pipeline"]["id"], [c, a, b])
    assert [x["listing_id"] for x in plan["itinerary"]] == [a, b, c]
    assert [(x["position"], x["travel_minutes"], x["wait_minutes"]) for x in plan["itinerary"]] == [
        (1, 4, 0), (2, 4, 0), (3, 4, 0)]
    assert [(x["arrival_at"], x["start_at"], x["end_at"]) for x in plan["itinerary"]] == [
        (f"{DAY}T08:04:00Z", f"{DAY}T08:04:00Z", f"{DAY}T08:34:00Z"),
        (f"{DAY}T08:38:00Z", f"{DAY}T08:38:00Z", f"{DAY}T09:08:00Z"),
        (f"{DAY}T09:12:00Z", f"{DAY}T09:12:00Z", f"{DAY}T09:42:00Z")]
    assert (plan["total_minutes"], plan["travel_minutes"], plan["wait_minutes"]) == (12, 12, 0)
    assert plan["status"] == "ACTIVE" and plan["unscheduled"] == [] and plan["version"] == 1
    assert {x["status"] for x in plan["itinerary"]} == {"REQUESTED"}
    assert await get_plan(client, s["rm_headers"], plan["id"]) == plan


async def test_the_plan_requests_each_visit_and_schedules_the_pipeline(client, auth, engine):
    s = await setup(client, auth, engine)
    plan = await made_plan(client, s["rm_headers"], s["pipeline"]["id"], [x["id"] for x in s["listings"]])
    requested = await events(engine, type="sales.visit.requested")
    assert [e.envelope["data"]["request_id"] for e in requested] == [x["id"] for x in plan["itinerary"]]
    first = requested[0].envelope["data"]
    assert first["plan_id"] == plan["id"] and first["pipeline_id"] == s["pipeline"]["id"]
    assert first["customer_id"] == str(s["lead"]["customer_id"]) and first["start_at"] == f"{DAY}T08:04:00Z"
    r = await client.get(f"{API}/pipelines/{s['pipeline']['id']}", headers=s["rm_headers"])
    assert r.json()["stage"] == "VISIT_SCHEDULED"


async def test_waiting_for_an_owner_window_counts_in_the_total(client, auth, engine):
    s = await setup(client, auth, engine, listings=2)
    a, b = (x["id"] for x in s["listings"])
    body = plan_body([a, b])
    body["stops"][0].update(owner_window_start="10:00", owner_window_end="11:00")
    plan = (await create_plan(client, s["rm_headers"], s["pipeline"]["id"], body)).json()
    # b first (7 min: 08:07-08:37), then back to a (4 min) and wait until 10:00
    assert [x["listing_id"] for x in plan["itinerary"]] == [b, a]
    assert plan["itinerary"][1]["start_at"] == f"{DAY}T10:00:00Z"
    assert (plan["travel_minutes"], plan["wait_minutes"], plan["total_minutes"]) == (11, 79, 90)
    assert plan["itinerary"][1]["window_source"] == "REQUEST"


async def test_infeasible_names_the_stops_and_plans_the_others_writing_nothing(client, auth, engine):
    s = await setup(client, auth, engine)
    a, b, c = (x["id"] for x in s["listings"])
    body = plan_body([a, b, c])
    body["stops"][1].update(owner_window_start="06:00", owner_window_end="07:30")  # before the customer's window
    before = await count(engine, visit_plans)
    r = await create_plan(client, s["rm_headers"], s["pipeline"]["id"], body)
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["code"] == "infeasible"
    assert [(x["index"], x["listing_id"]) for x in problem["infeasible_stops"]] == [(1, b)]
    assert [x["listing_id"] for x in problem["best_plan"]["itinerary"]] == [a, c]
    assert problem["best_plan"]["travel_minutes"] == 11  # a (4), then c (2.2 km: 7)
    assert await count(engine, visit_plans) == before
    assert await events(engine, type="sales.visit.requested") == []
    r = await client.get(f"{API}/pipelines/{s['pipeline']['id']}", headers=s["rm_headers"])
    assert r.json()["stage"] == "NEW"


async def test_stops_that_do_not_fit_together_are_infeasible_too(client, auth, engine):
    s = await setup(client, auth, engine, listings=2)
    a, b = (x["id"] for x in s["listings"])
    body = plan_body([a, b], window_end="09:00")  # one hour: two 30-minute visits and travel cannot fit
    r = await create_plan(client, s["rm_headers"], s["pipeline"]["id"], body)
    assert r.status_code == 422 and r.json()["code"] == "infeasible"
    assert len(r.json()["infeasible_stops"]) == 1 and len(r.json()["best_plan"]["itinerary"]) == 1


async def test_owner_availability_from_scheduling_wins_over_the_request(client, auth, engine):
    s = await setup(client, auth, engine, listings=2)
    a, b = (x["id"] for x in s["listings"])
    await scheduling(client, auth, "availability.updated", listing_id=a,
                     windows=[{"start": f"{DAY}T12:00:00Z", "end": f"{DAY}T13:00:00Z"}])
    body = plan_body([a, b])
    body["stops"][0].update(owner_window_start="08:00", owner_window_end="09:00")
    plan = (await create_plan(client, s["rm_headers"], s["pipeline"]["id"], body)).json()
    stop_a = next(x for x in plan["itinerary"] if x["listing_id"] == a)
    assert stop_a["window_source"] == "SCHEDULING" and stop_a["start_at"] == f"{DAY}T12:00:00Z"
    assert stop_a["owner_windows"] == [{"start": f"{DAY}T12:00:00Z", "end": f"{DAY}T13:00:00Z"}]


async def test_full_timestamps_are_accepted_for_windows(client, auth, engine):
    s = await setup(client, auth, engine, listings=1)
    body = plan_body([s["listings"][0]["id"]], window_start=f"{DAY}T13:30:00+05:30",
                     window_end=f"{DAY}T19:30:00+05:30")
    plan = (await create_plan(client, s["rm_headers"], s["pipeline"]["id"], body)).json()
    assert plan["window_start"] == f"{DAY}T08:00:00Z" and plan["itinerary"][0]["start_at"] == f"{DAY}T08:04:00Z"


async def test_replan_starts_from_now_and_keeps_unchanged_slots(client, auth, engine):
    s = await setup(client, auth, engine)
    plan = await made_plan(client, s["rm_headers"], s["pipeline"]["id"], [x["id"] for x in s["listings"]])
    first = plan["itinerary"][0]
    await scheduling(client, auth, "visit.confirmed", request_id=first["id"], visit_id=str(uuid.uuid4()))
    r = await client.post(f"{API}/visit-plans/{plan['id']}/replan", headers=s["rm_headers"])
    assert r.status_code == 200, r.text
    again = r.json()
    assert again["version"] == 2 and again["itinerary"][0]["status"] == "CONFIRMED"  # same slot: still confirmed
    assert len(await events(engine, type="sales.visit.requested")) == 3  # nothing moved, nothing re-requested
    await advance(client, auth.admin, 22 * 3600)  # 2026-01-18T08:30Z: the day has begun
    r = await client.post(f"{API}/visit-plans/{plan['id']}/replan", headers=s["rm_headers"])
    moved = r.json()["itinerary"]
    assert moved[0]["start_at"] == f"{DAY}T08:34:00Z" and moved[0]["status"] == "REQUESTED"
    assert len(await events(engine, type="sales.visit.requested")) == 6


async def test_replan_that_no_longer_fits_is_infeasible_and_writes_nothing(client, auth, engine):
    s = await setup(client, auth, engine)
    plan = await made_plan(client, s["rm_headers"], s["pipeline"]["id"], [x["id"] for x in s["listings"]])
    await advance(client, auth.admin, 22 * 3600 + 4 * 3600 + 30 * 60)  # 13:00: one hour left for three visits
    r = await client.post(f"{API}/visit-plans/{plan['id']}/replan", headers=s["rm_headers"])
    assert r.status_code == 422 and r.json()["code"] == "infeasible"
    assert (await get_plan(client, s["rm_headers"], plan["id"]))["version"] == 1


async def test_scoping_and_roles(client, auth, engine):
    s = await setup(client, auth, engine, listings=1)
    body = plan_body([s["listings"][0]["id"]])
    path = f"{API}/pipelines/{s['pipeline']['id']}/visit-plans"
    assert (await client.post(path, json=body)).status_code == 401
    assert (await client.post(path, json=body, headers=auth.headers("FINANCE_ADMIN"))).status_code == 403
    assert (await client.post(path, json=body, headers=auth.headers("CUSTOMER"))).status_code == 403
    other_rm = auth.rm(uuid.uuid4())
    assert (await client.post(path, json=body, headers=other_rm)).status_code == 404
    plan = await made_plan(client, auth.supervisor(uuid.UUID(s["team"]["id"])), s["pipeline"]["id"],
                           [s["listings"][0]["id"]])
    assert (await client.get(f"{API}/visit-plans/{plan['id']}", headers=other_rm)).status_code == 404
    assert (await client.get(f"{API}/visit-plans/{plan['id']}",
                             headers=auth.supervisor(uuid.uuid4()))).status_code == 404
    assert (await client.get(f"{API}/visit-plans/{plan['id']}", headers=auth.admin)).status_code == 200
    assert (await client.post(f"{API}/visit-plans/{plan['id']}/replan", headers=other_rm)).status_code == 404
    assert (await client.get(f"{API}/visit-plans/{uuid.uuid4()}", headers=auth.admin)).status_code == 404


async def test_bad_input_names_the_field_and_writes_nothing(client, auth, engine):
    s = await setup(client, auth, engine, listings=2)
    a, b = (x["id"] for x in s["listings"])
    path = s["pipeline"]["id"]
    cases = [
        (plan_body([str(uuid.uuid4())]), ["body", "stops", 0, "listing_id"]),
        (plan_body([a, a]), ["body", "stops", 1, "listing_id"]),
        (plan_body([a], window_start="14:00", window_end="08:00"), ["body", "window_end"]),
        (plan_body([a], visit_minutes=0), ["body", "visit_minutes"]),
        (plan_body([a], start={"lat": 91, "lon": 77.6}), ["body", "start", "lat"]),
        (plan_body([a] * 13), ["body", "stops"]),
        (plan_body([]), ["body", "stops"]),
        (plan_body([a], window_start="25:00"), ["body", "window_start"]),
    ]
    bad_window = plan_body([a, b])
    bad_window["stops"][0].update(owner_window_start="11:00", owner_window_end="10:00")
    cases.append((bad_window, ["body", "stops", 0, "owner_window_end"]))
    for body, loc in cases:
        r = await create_plan(client, s["rm_headers"], path, body)
        assert r.status_code == 422, (body, r.text)
        assert any(e["loc"][:len(loc)] == loc for e in r.json()["errors"]), (loc, r.json())
    assert await count(engine, visit_plans) == 0


async def test_a_closed_pipeline_gets_no_plan(client, auth, engine):
    s = await setup(client, auth, engine, listings=1)
    r = await client.patch(f"{API}/pipelines/{s['pipeline']['id']}/stage",
                           json={"stage": "CLOSED_LOST", "loss_reason": "budget"}, headers=auth.admin)
    assert r.status_code == 200
    r = await create_plan(client, s["rm_headers"], s["pipeline"]["id"], plan_body([s["listings"][0]["id"]]))
    assert r.status_code == 409
