"""PUT /pipelines/{id}: value, probability, expected close, source, notes; closed pipelines take notes only."""
from __future__ import annotations

import uuid

import pytest

from tests.builders import API, freeze_clock, make_pipeline, make_rm_with_team, move
from tests.checks import assert_problem, audit_rows, events, row_counts


@pytest.fixture
async def setup(client, auth):  # type: ignore[no-untyped-def]
    await freeze_clock(client, auth.admin)
    team, rm = await make_rm_with_team(client, auth.admin)
    pipeline = await make_pipeline(client, auth.rm(rm["id"]), rm_id=rm["id"])
    return team, rm, pipeline


async def test_update_changes_given_fields_only(client, auth, engine, setup):
    _, rm, pipeline = setup
    later = await freeze_clock(client, auth.admin, at="2026-01-18T11:00:00Z")
    response = await client.put(f"{API}/pipelines/{pipeline['id']}", headers=auth.rm(rm["id"]), json={
        "deal_value": "31000.50", "probability": 35, "expected_close_date": "2026-03-01", "source": "REFERRAL"})
    assert response.status_code == 200, response.text
    assert response.json() == {**pipeline, "deal_value": 31000.5, "probability": 35,
                               "expected_close_date": "2026-03-01", "source": "REFERRAL", "updated_at": later}
    assert '"deal_value":31000.50,' in response.text
    entry = (await audit_rows(engine, action="pipeline.updated"))[0]
    assert (entry.before["deal_value"], entry.after["deal_value"], entry.before["probability"]) == (25000.0, 31000.5, 20)
    assert [e.type for e in await events(engine)] == ["sales.pipeline.created"]


async def test_update_may_clear_optional_fields(client, auth, setup):
    _, rm, pipeline = setup
    response = await client.put(f"{API}/pipelines/{pipeline['id']}", headers=auth.admin,
                                json={"deal_value": None, "probability": None, "notes": None,
                                      "expected_close_date": None})
    assert response.status_code == 200
    body = response.json()
    assert (body["deal_value"], body["probability"], body["notes"], body["expected_close_date"]) == (
        None, None, None, None)


@pytest.mark.parametrize(("body", "loc"), [
    pytest.param({"deal_value": -1}, ["body", "deal_value"], id="negative-money"),
    pytest.param({"deal_value": "1.999"}, ["body", "deal_value"], id="three-decimals"),
    pytest.param({"probability": 101}, ["body", "probability"], id="probability-101"),
    pytest.param({"source": "SMOKE_SIGNAL"}, ["body", "source"], id="unknown-source"),
    pytest.param({"source": None}, ["body", "source"], id="null-source"),
    pytest.param({"stage": "CONTACTED"}, ["body", "stage"], id="stage-only-via-patch"),
    pytest.param({"rm_id": str(uuid.uuid4())}, ["body", "rm_id"], id="rm-not-updatable"),
    pytest.param({"expected_close_date": "tomorrow"}, ["body", "expected_close_date"], id="bad-date"),
])
async def test_update_bad_input_is_422_and_writes_nothing(client, auth, engine, setup, body, loc):
    _, rm, pipeline = setup
    before = await row_counts(engine)
    response = await client.put(f"{API}/pipelines/{pipeline['id']}", headers=auth.rm(rm["id"]), json=body)
    assert_problem(response, 422, "validation_error", loc=loc)
    assert await row_counts(engine) == before


@pytest.mark.parametrize("closing", [{"stage": "CLOSED_WON"}, {"stage": "CLOSED_LOST", "loss_reason": "budget"}])
async def test_closed_pipeline_accepts_notes_only(client, auth, engine, setup, closing):
    _, rm, pipeline = setup
    assert (await move(client, auth.admin, pipeline["id"], **closing)).status_code == 200
    before = await row_counts(engine)
    refused = await client.put(f"{API}/pipelines/{pipeline['id']}", headers=auth.admin,
                               json={"deal_value": "1.00", "notes": "late"})
    assert_problem(refused, 409, "pipeline_closed")
    assert await row_counts(engine) == before
    noted = await client.put(f"{API}/pipelines/{pipeline['id']}", headers=auth.admin, json={"notes": "post-mortem"})
    assert noted.status_code == 200 and noted.json()["notes"] == "post-mortem"


@pytest.mark.parametrize("who", ["supervisor", "admin"])
async def test_supervisor_and_admin_may_update(client, auth, setup, who):
    team, _, pipeline = setup
    headers = {"supervisor": auth.supervisor(uuid.UUID(team["id"])), "admin": auth.admin}[who]
    response = await client.put(f"{API}/pipelines/{pipeline['id']}", headers=headers, json={"notes": who})
    assert response.status_code == 200 and response.json()["notes"] == who


async def test_out_of_scope_update_is_404_and_writes_nothing(client, auth, engine, setup):
    _, _, pipeline = setup
    other_team, other = await make_rm_with_team(client, auth.admin)
    before = await row_counts(engine)
    for headers in (auth.rm(other["id"]), auth.supervisor(uuid.UUID(other_team["id"]))):
        response = await client.put(f"{API}/pipelines/{pipeline['id']}", headers=headers, json={"notes": "x"})
        assert_problem(response, 404, "pipeline_not_found")
    assert await row_counts(engine) == before


async def test_update_unknown_pipeline_is_404(client, auth):
    response = await client.put(f"{API}/pipelines/{uuid.uuid4()}", headers=auth.admin, json={"notes": "x"})
    assert_problem(response, 404, "pipeline_not_found")
