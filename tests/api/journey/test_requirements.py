"""GET/PUT /pipelines/{id}/requirements and .../requirements/history (issue 14 §1, US-SALE-011)."""
from __future__ import annotations

import uuid

import pytest

from sales.journey.models import requirements
from tests.api.journey.helpers import journey_setup, requirements_body, save
from tests.builders import API, freeze_clock, make_pipeline, make_rm_with_team, move
from tests.checks import assert_problem, audit_rows, count, events


@pytest.fixture
async def s(client, auth, engine):  # type: ignore[no-untyped-def]
    await freeze_clock(client, auth.admin)
    return await journey_setup(client, auth, engine)


async def test_first_save_is_version_1_and_moves_the_pipeline_to_requirements_captured(client, auth, engine, s):
    pid = s["pipeline"]["id"]
    r = await save(client, s["rm_auth"], pid)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["version"] == 1 and body["pipeline_id"] == pid and body["author_id"] == s["rm"]["id"]
    assert body["budget_max"] == 40000.00 and body["criteria"]["budget"] == {"must": True, "weight": None}
    assert body["localities"] == ["Koramangala", "HSR Layout"]
    pipeline = (await client.get(f"{API}/pipelines/{pid}", headers=s["rm_auth"])).json()
    assert pipeline["stage"] == "REQUIREMENTS_CAPTURED"
    history = (await client.get(f"{API}/pipelines/{pid}/history", headers=s["rm_auth"])).json()["items"]
    assert history[-1]["from_stage"] == "NEW" and history[-1]["to_stage"] == "REQUIREMENTS_CAPTURED"
    changed = await events(engine, type="sales.pipeline.stage_changed")
    assert changed[-1].envelope["data"]["new_stage"] == "REQUIREMENTS_CAPTURED"
    assert await audit_rows(engine, action="requirements.saved")
    assert (await client.get(f"{API}/pipelines/{pid}/requirements", headers=s["rm_auth"])).json() == body


async def test_every_save_is_a_new_version_with_author_and_time(client, auth, s):
    pid = s["pipeline"]["id"]
    await save(client, s["rm_auth"], pid)
    later = await freeze_clock(client, auth.admin, at="2026-01-18T09:00:00Z")
    supervisor = auth.supervisor(uuid.UUID(s["team"]["id"]))
    r = await save(client, supervisor, pid, budget_max="45000.00")
    assert r.status_code == 200 and r.json()["version"] == 2 and r.json()["created_at"] == later
    history = (await client.get(f"{API}/pipelines/{pid}/requirements/history", headers=s["rm_auth"])).json()
    assert [v["version"] for v in history["items"]] == [2, 1]
    assert history["items"][0]["budget_max"] == 45000.00 and history["other_pipelines"] == []
    # the stage moved once only
    pipeline = (await client.get(f"{API}/pipelines/{pid}", headers=s["rm_auth"])).json()
    assert pipeline["stage"] == "REQUIREMENTS_CAPTURED"


async def test_a_later_stage_is_not_moved_back(client, auth, s):
    pid = s["pipeline"]["id"]
    assert (await move(client, s["rm_auth"], pid, "SHORTLIST_SENT")).status_code == 200
    assert (await save(client, s["rm_auth"], pid)).status_code == 200
    assert (await client.get(f"{API}/pipelines/{pid}", headers=s["rm_auth"])).json()["stage"] == "SHORTLIST_SENT"


async def test_the_customers_other_pipelines_show_as_history(client, auth, engine, s):
    """US-SALE-011: requirements history for returning customers (their earlier pipeline, another RM)."""
    pid = s["pipeline"]["id"]
    await save(client, s["rm_auth"], pid, deal_type="SALE", budget_min="5000000.00", budget_max="8000000.00")
    assert (await move(client, s["rm_auth"], pid, "CLOSED_LOST", loss_reason="bought elsewhere")).status_code == 200
    _, other_rm = await make_rm_with_team(client, auth.admin)
    other = await make_pipeline(client, auth.admin, rm_id=other_rm["id"], lead_id=str(s["lead"]["id"]))
    history = (await client.get(f"{API}/pipelines/{other['id']}/requirements/history",
                                headers=auth.rm(other_rm["id"]))).json()
    assert history["items"] == []
    assert [(h["pipeline_id"], h["deal_type"]) for h in history["other_pipelines"]] == [(pid, "SALE")]


async def test_get_before_any_save_is_404(client, s):
    r = await client.get(f"{API}/pipelines/{s['pipeline']['id']}/requirements", headers=s["rm_auth"])
    assert_problem(r, 404, "requirements_not_found")


async def test_scoping_other_rm_404_wrong_role_403_no_token_401(client, auth, s):
    pid = s["pipeline"]["id"]
    url = f"{API}/pipelines/{pid}/requirements"
    _, stranger = await make_rm_with_team(client, auth.admin)
    assert_problem(await client.put(url, json=requirements_body(), headers=auth.rm(stranger["id"])), 404,
                   "pipeline_not_found")
    assert_problem(await client.get(url, headers=auth.supervisor(uuid.uuid4())), 404, "pipeline_not_found")
    assert_problem(await client.get(f"{url}/history", headers=auth.rm(stranger["id"])), 404, "pipeline_not_found")
    assert_problem(await client.get(url, headers=auth.headers("FINANCE_ADMIN")), 403, "forbidden")
    assert_problem(await client.put(url, json=requirements_body(), headers=auth.headers("CUSTOMER")), 403,
                   "forbidden")
    assert_problem(await client.get(url), 401, "not_authenticated")
    assert (await save(client, auth.admin, pid)).status_code == 200


@pytest.mark.parametrize(("overrides", "loc"), [
    ({"budget_min": "50000.00", "budget_max": "40000.00"}, ["body", "budget_min"]),
    ({"bhk_min": 4, "bhk_max": 2}, ["body", "bhk_min"]),
    ({"near": {"radius_km": 2}}, ["body", "near", "lat"]),
    ({"near": {"lat": 12.93, "lon": 77.62}}, ["body", "near", "radius_km"]),
    ({"criteria": {"budget": {"weight": 6}}}, ["body", "criteria", "budget", "weight"]),
    ({"criteria": {"budget": {"weight": 0}}}, ["body", "criteria", "budget", "weight"]),
    ({"criteria": {"area": {"must": True}}}, ["body", "criteria", "area"]),
    ({"deal_type": "LEASE"}, ["body", "deal_type"]),
])
async def test_bad_input_is_422_naming_the_field_and_writes_nothing(client, engine, s, overrides, loc):
    pid = s["pipeline"]["id"]
    assert_problem(await save(client, s["rm_auth"], pid, **overrides), 422, "validation_error", loc=loc)
    assert await count(engine, requirements) == 0
    assert (await client.get(f"{API}/pipelines/{pid}", headers=s["rm_auth"])).json()["stage"] == "NEW"


async def test_closed_pipeline_takes_no_requirements(client, s):
    pid = s["pipeline"]["id"]
    await move(client, s["rm_auth"], pid, "CLOSED_LOST", loss_reason="not interested")
    assert_problem(await save(client, s["rm_auth"], pid), 409, "pipeline_closed")
