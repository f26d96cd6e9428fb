"""POST /events: consumed CloudEvents, idempotent by id; handlers for leads and scheduling events."""
from __future__ import annotations

import uuid

import pytest

from tests.allocation_builders import city_with_rms, lead_payload
from tests.api.events.helpers import API, cloudevent
from tests.builders import make_pipeline, make_rm, make_team

EVENTS = f"{API}/events"


async def _history(client, auth, pipeline_id):  # type: ignore[no-untyped-def]
    r = await client.get(f"{API}/pipelines/{pipeline_id}/history", headers=auth.admin)
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def _pipeline(client, auth, **overrides):  # type: ignore[no-untyped-def]
    team = await make_team(client, auth.admin)
    rm = await make_rm(client, auth.admin, team_id=team["id"])
    return rm, await make_pipeline(client, auth.admin, rm_id=rm["id"], **overrides)


async def test_lead_qualified_moves_pipeline_once_even_when_delivered_twice(client, auth):
    rm, pipeline = await _pipeline(client, auth)
    event = cloudevent("leads.lead.qualified", {"lead_id": pipeline["lead_id"]})
    service = auth.headers("SERVICE")
    r = await client.post(EVENTS, json=event, headers=service)
    assert r.status_code == 200, r.text
    assert r.json()["items"][0] == {"id": event["id"], "type": "leads.lead.qualified", "status": "PROCESSED",
                                    "attempts": 1, "error": None}
    again = await client.post(EVENTS, json=event, headers=service)
    assert again.json()["items"][0]["status"] == "DUPLICATE"
    got = (await client.get(f"{API}/pipelines/{pipeline['id']}", headers=auth.admin)).json()
    assert got["stage"] == "REQUIREMENTS_CAPTURED"
    moves = [h for h in await _history(client, auth, pipeline["id"]) if h["to_stage"] == "REQUIREMENTS_CAPTURED"]
    assert len(moves) == 1
    feed = (await client.get(f"{API}/events/feed", headers=service)).json()["items"]
    assert [e["type"] for e in feed].count("sales.pipeline.stage_changed") == 1


async def test_consumed_events_only_move_pipelines_forward(client, auth):
    rm, pipeline = await _pipeline(client, auth)
    r = await client.patch(f"{API}/pipelines/{pipeline['id']}/stage", json={"stage": "NEGOTIATION"},
                           headers=auth.admin)
    assert r.status_code == 200, r.text
    batch = [cloudevent("leads.lead.qualified", {"lead_id": pipeline["lead_id"]}),
             cloudevent("scheduling.visit.completed", {"visit_id": str(uuid.uuid4()),
                                                       "pipeline_id": pipeline["id"]}, source="/mysqrft/scheduling")]
    r = await client.post(EVENTS, json=batch, headers=auth.headers("SERVICE"))
    assert [i["status"] for i in r.json()["items"]] == ["PROCESSED", "PROCESSED"]
    got = (await client.get(f"{API}/pipelines/{pipeline['id']}", headers=auth.admin)).json()
    assert got["stage"] == "NEGOTIATION"


async def test_visit_completed_moves_pipeline_by_lead(client, auth):
    rm, pipeline = await _pipeline(client, auth)
    event = cloudevent("scheduling.visit.completed", {"visit_id": str(uuid.uuid4()), "lead_id": pipeline["lead_id"],
                                                      "completed_at": "2026-01-10T09:00:00Z"},
                       source="/mysqrft/scheduling")
    r = await client.post(EVENTS, json=[event], headers=auth.headers("SERVICE"))
    assert r.json()["items"][0]["status"] == "PROCESSED", r.text
    got = (await client.get(f"{API}/pipelines/{pipeline['id']}", headers=auth.admin)).json()
    assert got["stage"] == "VISIT_COMPLETED"
    audit = (await client.get(f"{API}/audit", params={"entity_id": pipeline["id"]}, headers=auth.admin)).json()
    assert audit["items"][0]["action"] == "pipeline.stage_changed"
    assert audit["items"][0]["actor_roles"] == ["SERVICE"]


async def test_lead_created_allocates_the_lead(client, auth):
    team, rms = await city_with_rms(client, auth.admin, count=2)
    data = lead_payload()
    data["expected_deal_value"] = 25000.50  # a JSON number reaches the allocation as an exact Decimal
    data["crm_score"] = 7  # fields the allocation does not know are ignored (forward compatible)
    event = cloudevent("leads.lead.created", data)
    r = await client.post(EVENTS, json=event, headers=auth.headers("SERVICE"))
    assert r.status_code == 200, r.text
    assert r.json()["items"][0]["status"] == "PROCESSED", r.text
    allocations = (await client.get(f"{API}/allocations", headers=auth.admin)).json()["items"]
    assert [a["lead_id"] for a in allocations] == [data["lead_id"]]
    again = await client.post(EVENTS, json=event, headers=auth.headers("SERVICE"))
    assert again.json()["items"][0]["status"] == "DUPLICATE"
    assert len((await client.get(f"{API}/allocations", headers=auth.admin)).json()["items"]) == 1


async def test_unknown_types_are_acknowledged_and_ignored(client, auth):
    event = cloudevent("leads.lead.archived", {"lead_id": str(uuid.uuid4())})
    r = await client.post(EVENTS, json=event, headers=auth.headers("SERVICE"))
    assert r.status_code == 200
    assert r.json()["items"][0]["status"] == "IGNORED"
    r = await client.post(EVENTS, json=event, headers=auth.headers("SERVICE"))
    assert r.json()["items"][0]["status"] == "DUPLICATE"


@pytest.mark.parametrize("bad, loc", [
    ({"specversion": "1.0", "source": "/x", "type": "leads.lead.created"}, ["body", "id"]),
    ({"specversion": "0.3", "id": "1", "source": "/x", "type": "t"}, ["body", "specversion"]),
    ({"specversion": "1.0", "id": "1", "source": "/x", "type": ""}, ["body", "type"]),
    ({"specversion": "1.0", "id": "1", "source": "/x", "type": "t", "time": "yesterday"}, ["body", "time"]),
    ("just a string", ["body"]),
])
async def test_malformed_envelope_is_422_and_writes_nothing(client, auth, bad, loc):
    r = await client.post(EVENTS, json=bad, headers=auth.headers("SERVICE"))
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "malformed_event"
    assert loc in [e["loc"] for e in r.json()["errors"]]


async def test_one_malformed_event_rejects_the_whole_batch(client, auth):
    rm, pipeline = await _pipeline(client, auth)
    good = cloudevent("leads.lead.qualified", {"lead_id": pipeline["lead_id"]})
    r = await client.post(EVENTS, json=[good, {"specversion": "1.0"}], headers=auth.headers("SERVICE"))
    assert r.status_code == 422
    assert ["body", 1, "id"] in [e["loc"] for e in r.json()["errors"]]
    got = (await client.get(f"{API}/pipelines/{pipeline['id']}", headers=auth.admin)).json()
    assert got["stage"] == "NEW"
    r = await client.post(EVENTS, json=good, headers=auth.headers("SERVICE"))
    assert r.json()["items"][0]["status"] == "PROCESSED"  # the rejected batch left no inbox row behind


async def test_unparsable_json_is_400_and_empty_batch_422(client, auth):
    r = await client.post(EVENTS, content=b"{not json", headers={**auth.headers("SERVICE"),
                                                                  "content-type": "application/json"})
    assert r.status_code == 400 and r.json()["code"] == "malformed_json"
    r = await client.post(EVENTS, json=[], headers=auth.headers("SERVICE"))
    assert r.status_code == 422


async def test_ingest_requires_service_role(client, auth):
    event = cloudevent("leads.lead.qualified", {"lead_id": str(uuid.uuid4())})
    assert (await client.post(EVENTS, json=event)).status_code == 401
    for role in ("SALES_ADMIN", "RM", "SUPERVISOR"):
        r = await client.post(EVENTS, json=event, headers=auth.headers(role))
        assert r.status_code == 403, role
