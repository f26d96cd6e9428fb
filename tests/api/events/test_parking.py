"""Failing handlers retry with backoff (inbox-retry job), park after N attempts; parked events can be retried."""
from __future__ import annotations

import uuid

from tests.allocation_builders import advance, run_job, set_clock
from tests.api.events.helpers import API, cloudevent
from tests.builders import make_pipeline, make_rm, make_team

EVENTS = f"{API}/events"
PARKED = f"{API}/events/parked"


async def test_failing_event_retries_then_parks_then_admin_retry_succeeds(client, auth):
    await set_clock(client, auth.admin, "2026-01-10T10:00:00Z")
    lead_id = str(uuid.uuid4())  # no pipeline yet: the handler fails (pipeline not found)
    event = cloudevent("leads.lead.qualified", {"lead_id": lead_id})
    r = await client.post(EVENTS, json=event, headers=auth.headers("SERVICE"))
    assert r.status_code == 200
    first = r.json()["items"][0]
    assert first["status"] == "FAILED" and first["attempts"] == 1 and "PipelineNotFound" in first["error"]

    assert (await run_job(client, auth.admin, "inbox-retry"))["processed"] == 0  # backoff not elapsed
    for expected_attempts in (2, 3, 4):
        await advance(client, auth.admin, 3600)
        assert (await run_job(client, auth.admin, "inbox-retry"))["processed"] == 1
    # a redelivery while FAILED counts as an attempt too; the 5th failure parks it
    r = await client.post(EVENTS, json=event, headers=auth.headers("SERVICE"))
    assert r.json()["items"][0]["status"] == "PARKED" and r.json()["items"][0]["attempts"] == 5

    parked = await client.get(PARKED, headers=auth.admin)
    assert parked.status_code == 200
    items = parked.json()["items"]
    assert [(i["id"], i["attempts"], i["status"]) for i in items] == [(event["id"], 5, "PARKED")]
    assert "PipelineNotFound" in items[0]["last_error"] and items[0]["envelope"]["data"] == {"lead_id": lead_id}
    await advance(client, auth.admin, 3600)
    assert (await run_job(client, auth.admin, "inbox-retry"))["processed"] == 0  # parked is left alone

    # still failing: stays parked with a fresh error
    r = await client.post(f"{PARKED}/{event['id']}/retry", headers=auth.headers("SERVICE"))
    assert r.status_code == 200 and r.json()["status"] == "PARKED" and r.json()["attempts"] == 6

    team = await make_team(client, auth.admin)
    rm = await make_rm(client, auth.admin, team_id=team["id"])
    pipeline = await make_pipeline(client, auth.admin, rm_id=rm["id"], lead_id=lead_id)
    r = await client.post(f"{PARKED}/{event['id']}/retry", headers=auth.admin)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "PROCESSED"
    assert (await client.get(f"{API}/pipelines/{pipeline['id']}", headers=auth.admin)).json()["stage"] == \
        "REQUIREMENTS_CAPTURED"
    assert (await client.get(PARKED, headers=auth.admin)).json()["items"] == []
    r = await client.post(f"{PARKED}/{event['id']}/retry", headers=auth.admin)
    assert r.status_code == 409 and r.json()["code"] == "event_not_parked"
    audit = (await client.get(f"{API}/audit", params={"entity_type": "inbox_event"}, headers=auth.admin)).json()
    assert [a["action"] for a in audit["items"]] == ["event.retried", "event.retried"]


async def test_invalid_data_parks_at_once(client, auth):
    event = cloudevent("leads.lead.qualified", {"lead_id": "not-a-uuid"})
    r = await client.post(EVENTS, json=event, headers=auth.headers("SERVICE"))
    item = r.json()["items"][0]
    assert item["status"] == "PARKED" and item["attempts"] == 1 and "invalid data" in item["error"]
    event = cloudevent("scheduling.visit.completed", {"visit_id": str(uuid.uuid4())})
    r = await client.post(EVENTS, json=event, headers=auth.headers("SERVICE"))
    assert r.json()["items"][0]["status"] == "PARKED"


async def test_parked_endpoints_roles_and_unknown_ids(client, auth):
    assert (await client.get(PARKED)).status_code == 401
    for role in ("RM", "SUPERVISOR", "FINANCE_ADMIN"):
        assert (await client.get(PARKED, headers=auth.headers(role))).status_code == 403
        assert (await client.post(f"{PARKED}/x/retry", headers=auth.headers(role))).status_code == 403
    assert (await client.get(PARKED, headers=auth.headers("SERVICE"))).status_code == 200
    r = await client.post(f"{PARKED}/{uuid.uuid4()}/retry", headers=auth.admin)
    assert r.status_code == 404 and r.json()["code"] == "event_not_found"
    r = await client.get(PARKED, params={"cursor": "garbage"}, headers=auth.admin)
    assert r.status_code == 422


async def test_parked_list_pages(client, auth):
    ids = []
    for _ in range(3):
        event = cloudevent("leads.lead.qualified", {"lead_id": "bad"})
        ids.append(event["id"])
        await client.post(EVENTS, json=event, headers=auth.headers("SERVICE"))
    page = (await client.get(PARKED, params={"limit": 2}, headers=auth.admin)).json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = (await client.get(PARKED, params={"cursor": page["next_cursor"]}, headers=auth.admin)).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert sorted(i["id"] for i in page["items"] + rest["items"]) == sorted(ids)


async def test_a_consumed_event_with_nul_characters_is_parked_as_text(client, auth, engine):
    """issue 9 item 7: PostgreSQL cannot store NUL, even inside JSON; the NATS consumer's park failed and the
    message was redelivered for ever."""
    from datetime import UTC, datetime

    from sales.core.db import unit_of_work
    from sales.events import inbox

    raw = b'{"specversion": "1.0", "id": "nul-1", "source": "/leads", "type": "leads.lead.qualified", ' \
          b'"data": {"lead\\u0000id": "x\\u0000"}}'
    async with unit_of_work(engine) as conn:
        outcome = await inbox.park_malformed(conn, raw, origin="nats:LEADS:7", now=datetime(2026, 1, 17, tzinfo=UTC))
    assert (outcome.id, outcome.status) == ("nul-1", "PARKED")
    parked = (await client.get(PARKED, headers=auth.admin)).json()["items"]
    assert [p["id"] for p in parked] == ["nul-1"]
    assert "lead\\u0000id" in parked[0]["envelope"]["raw"] and "\x00" not in parked[0]["last_error"]
