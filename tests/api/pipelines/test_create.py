"""POST /pipelines (PRD §7.3): exact response, event and audit; who may create; bad input."""
from __future__ import annotations

import uuid

import pytest

from tests.builders import (API, FROZEN_AT, freeze_clock, make_lead, make_pipeline, make_rm, make_rm_with_team,
                            make_team)
from tests.checks import assert_problem, audit_rows, events, row_counts
from tests.events_schema import assert_valid


def _body(rm_id: str, **overrides):  # type: ignore[no-untyped-def]
    return {"lead_id": str(uuid.uuid4()), "rm_id": rm_id, "source": "INBOUND_CALL", "deal_value": 25000.00,
            "expected_close_date": "2026-02-15", "notes": "Customer looking for 2BHK in Koramangala", **overrides}


async def test_create_answers_the_prd_example(client, auth, engine):
    await freeze_clock(client, auth.admin)
    team = (await client.post(f"{API}/teams", json={"name": "Bangalore South", "city": "Bangalore"},
                              headers=auth.admin)).json()
    rm = await make_rm(client, auth.admin, team_id=team["id"], name="Priya Patel")
    lead = await make_lead(engine)
    body = _body(rm["id"], lead_id=str(lead["id"]))
    response = await client.post(f"{API}/pipelines", content=(
        f'{{"lead_id": "{lead["id"]}", "rm_id": "{rm["id"]}", "source": "INBOUND_CALL", "deal_value": 25000.00, '
        f'"expected_close_date": "2026-02-15", "notes": "{body["notes"]}"}}'),
        headers={**auth.admin, "Content-Type": "application/json"})  # a known lead nobody holds: admin's to open
    assert response.status_code == 201, response.text
    pipeline = response.json()
    assert pipeline == {
        "id": pipeline["id"], "lead_id": str(lead["id"]), "rm_id": rm["id"], "stage": "NEW",
        "source": "INBOUND_CALL", "deal_value": 25000.00, "probability": 20, "expected_close_date": "2026-02-15",
        "actual_close_date": None, "outcome": "PENDING", "loss_reason": None, "notes": body["notes"],
        "created_at": "2026-01-17T10:30:00Z", "updated_at": "2026-01-17T10:30:00Z",
        "stage_changed_at": "2026-01-17T10:30:00Z", "sla_deadline": "2026-01-17T12:30:00Z",
        "customer": {"id": str(lead["customer_id"]), "name": "Rahul Sharma", "phone": "+91-9876543210",
                     "email": "rahul@example.com"},
        "rm": {"id": rm["id"], "name": "Priya Patel", "team": "Bangalore South"},
    }
    assert '"deal_value":25000.00,' in response.text
    assert response.headers["content-type"] == "application/json"

    again = await client.get(f"{API}/pipelines/{pipeline['id']}", headers=auth.rm(rm["id"]))
    assert again.json() == pipeline and '"deal_value":25000.00,' in again.text


async def test_created_event_is_a_cloudevent_in_the_outbox(client, auth, engine):
    await freeze_clock(client, auth.admin)
    _, rm = await make_rm_with_team(client, auth.admin)
    pipeline = await make_pipeline(client, auth.rm(rm["id"]), rm_id=rm["id"])
    [event] = await events(engine)
    assert (event.type, event.subject, event.published_at) == ("sales.pipeline.created", pipeline["id"], None)
    envelope = event.envelope
    assert envelope == {
        "specversion": "1.0", "id": str(event.id), "source": "/mysqrft/sales", "type": "sales.pipeline.created",
        "time": FROZEN_AT, "subject": pipeline["id"], "datacontenttype": "application/json",
        "data": {"pipeline_id": pipeline["id"], "lead_id": pipeline["lead_id"], "rm_id": rm["id"], "stage": "NEW",
                 "source": "INBOUND_CALL", "deal_value": 25000.00},
    }
    assert_valid(envelope)


async def test_create_is_audited_without_customer_pii(client, auth, engine):
    _, rm = await make_rm_with_team(client, auth.admin)
    lead = await make_lead(engine)
    admin_id = uuid.uuid4()
    pipeline = await make_pipeline(client, auth.headers("SALES_ADMIN", sub=admin_id), rm_id=rm["id"],
                                   lead_id=str(lead["id"]))
    [entry] = await audit_rows(engine, entity_type="pipeline")
    assert (entry.action, entry.entity_id, entry.actor_id, entry.actor_roles, entry.before) == (
        "pipeline.created", pipeline["id"], admin_id, ["SALES_ADMIN"], None)
    assert entry.after["stage"] == "NEW" and entry.after["deal_value"] == 25000.0
    assert "customer" not in entry.after and "9876543210" not in str(entry.after)
    assert entry.request_id


async def test_unknown_lead_embeds_no_customer(client, auth):
    _, rm = await make_rm_with_team(client, auth.admin)
    pipeline = await make_pipeline(client, auth.admin, rm_id=rm["id"])
    assert pipeline["customer"] is None


async def test_rm_without_team_embeds_a_null_team(client, auth):
    rm = await make_rm(client, auth.admin)
    pipeline = await make_pipeline(client, auth.admin, rm_id=rm["id"])
    assert pipeline["rm"] == {"id": rm["id"], "name": rm["name"], "team": None}


@pytest.mark.parametrize(("overrides", "expected"), [
    ({"probability": 55}, {"probability": 55}),
    ({"probability": 0}, {"probability": 0}),
    ({"probability": 100}, {"probability": 100}),
    ({"deal_value": "1234567.89"}, {"deal_value": 1234567.89}),
    ({"deal_value": 0}, {"deal_value": 0.0}),
    ({"deal_value": None, "expected_close_date": None, "notes": None},
     {"deal_value": None, "expected_close_date": None, "notes": None}),
    ({"source": "WHATSAPP"}, {"source": "WHATSAPP"}),
])
async def test_create_with_optional_fields(client, auth, overrides, expected):
    _, rm = await make_rm_with_team(client, auth.admin)
    pipeline = await make_pipeline(client, auth.admin, rm_id=rm["id"], **overrides)
    assert {k: pipeline[k] for k in expected} == expected


async def test_money_keeps_its_two_places_exactly(client, auth):
    _, rm = await make_rm_with_team(client, auth.admin)
    response = await client.post(f"{API}/pipelines", headers=auth.admin,
                                 json=_body(rm["id"], deal_value="999999999999.99"))
    assert response.status_code == 201 and '"deal_value":999999999999.99,' in response.text
    response = await client.post(f"{API}/pipelines", headers=auth.admin, json=_body(rm["id"], deal_value="0.10"))
    assert '"deal_value":0.10,' in response.text


@pytest.mark.parametrize("who", ["self", "supervisor", "admin", "service"])
async def test_who_may_create(client, auth, who):
    team, rm = await make_rm_with_team(client, auth.admin)
    headers = {"self": auth.rm(rm["id"]), "supervisor": auth.supervisor(uuid.UUID(team["id"])),
               "admin": auth.admin, "service": auth.headers("SERVICE")}[who]
    response = await client.post(f"{API}/pipelines", json=_body(rm["id"]), headers=headers)
    assert response.status_code == 201, response.text


async def test_rm_or_supervisor_may_not_open_pipelines_for_others(client, auth, engine):
    """issue 9 item 10: an RM outside the caller's scope answers like an unknown one (422 naming rm_id)."""
    team, rm = await make_rm_with_team(client, auth.admin)
    other_team, other = await make_rm_with_team(client, auth.admin)
    before = await row_counts(engine)
    for headers in (auth.rm(other["id"]), auth.supervisor(uuid.UUID(other_team["id"]))):
        response = await client.post(f"{API}/pipelines", json=_body(rm["id"]), headers=headers)
        assert_problem(response, 422, "validation_error", loc=["body", "rm_id"])
    assert await row_counts(engine) == before


@pytest.mark.parametrize(("overrides", "loc"), [
    pytest.param({"lead_id": "not-a-uuid"}, ["body", "lead_id"], id="malformed-lead"),
    pytest.param({"lead_id": None}, ["body", "lead_id"], id="null-lead"),
    pytest.param({"rm_id": "123"}, ["body", "rm_id"], id="malformed-rm"),
    pytest.param({"rm_id": str(uuid.uuid4())}, ["body", "rm_id"], id="unknown-rm"),
    pytest.param({"source": "CARRIER_PIGEON"}, ["body", "source"], id="unknown-source"),
    pytest.param({"source": None}, ["body", "source"], id="null-source"),
    pytest.param({"deal_value": -1}, ["body", "deal_value"], id="negative-money"),
    pytest.param({"deal_value": "-0.01"}, ["body", "deal_value"], id="negative-money-string"),
    pytest.param({"deal_value": 25000.005}, ["body", "deal_value"], id="three-decimals"),
    pytest.param({"deal_value": "12.345"}, ["body", "deal_value"], id="three-decimals-string"),
    pytest.param({"deal_value": "lots"}, ["body", "deal_value"], id="not-a-number"),
    pytest.param({"deal_value": 1e15}, ["body", "deal_value"], id="too-large"),
    pytest.param({"probability": 101}, ["body", "probability"], id="probability-101"),
    pytest.param({"probability": -1}, ["body", "probability"], id="probability-negative"),
    pytest.param({"probability": 50.5}, ["body", "probability"], id="probability-fraction"),
    pytest.param({"expected_close_date": "15/02/2026"}, ["body", "expected_close_date"], id="bad-date"),
    pytest.param({"stage": "NEGOTIATION"}, ["body", "stage"], id="stage-not-settable"),
    pytest.param({"notes": "x" * 10001}, ["body", "notes"], id="notes-too-long"),
])
async def test_bad_input_is_422_naming_the_field_and_writes_nothing(client, auth, engine, overrides, loc):
    _, rm = await make_rm_with_team(client, auth.admin)
    before = await row_counts(engine)
    response = await client.post(f"{API}/pipelines", json={**_body(rm["id"]), **overrides}, headers=auth.admin)
    assert_problem(response, 422, "validation_error", loc=loc)
    assert await row_counts(engine) == before


async def test_inactive_rm_is_refused(client, auth, engine):
    _, rm = await make_rm_with_team(client, auth.admin, status="INACTIVE")
    response = await client.post(f"{API}/pipelines", json=_body(rm["id"]), headers=auth.admin)
    assert_problem(response, 422, "validation_error", loc=["body", "rm_id"])
    assert (await row_counts(engine))["sales_pipelines"] == 0


async def test_body_must_be_an_object(client, auth):
    response = await client.post(f"{API}/pipelines", json=[1, 2], headers=auth.admin)
    assert_problem(response, 422, "validation_error")


async def test_probability_must_be_a_json_integer(client, auth):
    team = await make_team(client, auth.admin)
    rm = await make_rm(client, auth.admin, team_id=team["id"])
    for bad in (True, "20", 20.5):
        response = await client.post(f"{API}/pipelines", headers=auth.admin, json={
            "lead_id": str(uuid.uuid4()), "rm_id": rm["id"], "source": "INBOUND_CALL", "probability": bad})
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["errors"][0]["loc"][-1] == "probability"
