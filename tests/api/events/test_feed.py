"""GET /events/feed: the outbox in commit order for pull consumers (no NATS)."""
from __future__ import annotations

import uuid

import pytest

from tests.api.events.helpers import API
from tests.builders import make_pipeline, make_rm, make_team

FEED = f"{API}/events/feed"


async def _pipeline(client, auth):  # type: ignore[no-untyped-def]
    team = await make_team(client, auth.admin)
    rm = await make_rm(client, auth.admin, team_id=team["id"])
    return rm, await make_pipeline(client, auth.admin, rm_id=rm["id"])


async def test_feed_serves_events_in_commit_order_and_pages_with_after(client, auth):
    rm, pipeline = await _pipeline(client, auth)
    for stage in ("CONTACTED", "REQUIREMENTS_CAPTURED"):
        r = await client.patch(f"{API}/pipelines/{pipeline['id']}/stage", json={"stage": stage},
                               headers=auth.rm(uuid.UUID(rm["id"])))
        assert r.status_code == 200, r.text
    service = auth.headers("SERVICE")
    r = await client.get(FEED, headers=service)
    assert r.status_code == 200, r.text
    body = r.json()
    types = [e["type"] for e in body["items"]]
    assert types == ["sales.pipeline.created", "sales.pipeline.stage_changed", "sales.pipeline.stage_changed"]
    assert [e["data"]["new_stage"] for e in body["items"][1:]] == ["CONTACTED", "REQUIREMENTS_CAPTURED"]
    assert all(e["subject"] == pipeline["id"] and e["specversion"] == "1.0" for e in body["items"])
    assert body["last_event_id"] == body["items"][-1]["id"] and body["next_cursor"] is None

    first = await client.get(FEED, params={"limit": 1}, headers=auth.admin)
    assert first.status_code == 200
    page = first.json()
    assert [e["id"] for e in page["items"]] == [body["items"][0]["id"]]
    assert page["next_cursor"] == body["items"][0]["id"]
    rest = (await client.get(FEED, params={"after": page["next_cursor"]}, headers=service)).json()
    assert [e["id"] for e in rest["items"]] == [e["id"] for e in body["items"][1:]]
    empty = (await client.get(FEED, params={"after": body["last_event_id"]}, headers=service)).json()
    assert empty["items"] == [] and empty["last_event_id"] == body["last_event_id"]


async def test_feed_positions_are_stable_once_served(client, auth):
    """Events committed after a read get later positions: a poller never misses one."""
    rm, pipeline = await _pipeline(client, auth)
    service = auth.headers("SERVICE")
    first = (await client.get(FEED, headers=service)).json()
    await client.patch(f"{API}/pipelines/{pipeline['id']}/stage", json={"stage": "CONTACTED"},
                       headers=auth.rm(uuid.UUID(rm["id"])))
    after = (await client.get(FEED, params={"after": first["last_event_id"]}, headers=service)).json()
    assert [e["type"] for e in after["items"]] == ["sales.pipeline.stage_changed"]


async def test_feed_unknown_after_is_422(client, auth):
    r = await client.get(FEED, params={"after": str(uuid.uuid4())}, headers=auth.headers("SERVICE"))
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["query", "after"]
    r = await client.get(FEED, params={"after": "not-a-uuid"}, headers=auth.headers("SERVICE"))
    assert r.status_code == 422
    r = await client.get(FEED, params={"limit": 501}, headers=auth.headers("SERVICE"))
    assert r.status_code == 422


async def test_feed_requires_a_token(client):
    r = await client.get(FEED)
    assert r.status_code == 401


@pytest.mark.parametrize("role", ["RM", "SUPERVISOR", "FINANCE_ADMIN", "CUSTOMER"])
async def test_feed_is_for_services_and_admins(client, auth, role):
    r = await client.get(FEED, headers=auth.headers(role))
    assert r.status_code == 403
    assert r.json()["code"] == "forbidden"
