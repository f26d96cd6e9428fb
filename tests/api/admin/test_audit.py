"""GET /audit (SALES_ADMIN): every write recorded with actor, roles, action, entity, before/after; newest first."""
from __future__ import annotations

import uuid

import pytest

from tests.builders import API, freeze_clock, make_pipeline, make_rm, make_team, move
from tests.checks import assert_problem


@pytest.fixture
async def trail(client, auth):  # type: ignore[no-untyped-def]
    """team.created @10:00, rm.created @11:00, pipeline.created @12:00 (by the RM), stage change @13:00."""
    await freeze_clock(client, auth.admin, at="2026-01-17T10:00:00Z")
    team = await make_team(client, auth.admin)
    await freeze_clock(client, auth.admin, at="2026-01-17T11:00:00Z")
    rm = await make_rm(client, auth.admin, team_id=team["id"])
    await freeze_clock(client, auth.admin, at="2026-01-17T12:00:00Z")
    pipeline = await make_pipeline(client, auth.rm(rm["id"]), rm_id=rm["id"])
    await freeze_clock(client, auth.admin, at="2026-01-17T13:00:00Z")
    assert (await move(client, {**auth.rm(rm["id"]), "X-Request-ID": "req-stage-1"}, pipeline["id"],
                       "CONTACTED")).status_code == 200
    return {"team": team, "rm": rm, "pipeline": pipeline}


async def _actions(client, auth, **params):  # type: ignore[no-untyped-def]
    response = await client.get(f"{API}/audit", params=params, headers=auth.admin)
    assert response.status_code == 200, response.text
    return [e["action"] for e in response.json()["items"]]


async def test_audit_lists_every_write_newest_first(client, auth, trail):
    response = await client.get(f"{API}/audit", headers=auth.admin)
    items = response.json()["items"]
    assert [e["action"] for e in items] == ["pipeline.stage_changed", "pipeline.created", "rm.created", "team.created"]
    stage = items[0]
    assert stage == {
        "id": stage["id"], "at": "2026-01-17T13:00:00Z", "actor_id": trail["rm"]["id"], "actor_roles": ["RM"],
        "action": "pipeline.stage_changed", "entity_type": "pipeline", "entity_id": trail["pipeline"]["id"],
        "before": {"stage": "NEW", "outcome": "PENDING"},
        "after": {"stage": "CONTACTED", "outcome": "PENDING", "reason": None, "loss_reason": None},
        "request_id": "req-stage-1"}
    assert response.json()["next_cursor"] is None


@pytest.mark.parametrize(("params", "expected"), [
    ({"entity_type": "pipeline"}, ["pipeline.stage_changed", "pipeline.created"]),
    ({"entity_type": "team"}, ["team.created"]),
    ({"entity_type": "invoice"}, []),
    ({"from": "2026-01-17T11:00:00Z"}, ["pipeline.stage_changed", "pipeline.created", "rm.created"]),
    ({"to": "2026-01-17T11:00:00Z"}, ["rm.created", "team.created"]),
    ({"from": "2026-01-17T16:00:00+05:30", "to": "2026-01-17T12:00:00Z"}, ["pipeline.created", "rm.created"]),
])
async def test_audit_filters(client, auth, trail, params, expected):
    assert await _actions(client, auth, **params) == expected


async def test_audit_by_entity_and_actor(client, auth, trail):
    assert await _actions(client, auth, entity_id=trail["pipeline"]["id"]) == ["pipeline.stage_changed",
                                                                               "pipeline.created"]
    assert await _actions(client, auth, entity_type="rm", entity_id=trail["rm"]["id"]) == ["rm.created"]
    assert await _actions(client, auth, actor_id=trail["rm"]["id"]) == ["pipeline.stage_changed", "pipeline.created"]
    assert await _actions(client, auth, actor_id=str(uuid.uuid4())) == []


async def test_audit_cursor_pagination(client, auth, trail):
    seen, cursor = [], None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(f"{API}/audit", params=params, headers=auth.admin)).json()
        seen += [e["action"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["pipeline.stage_changed", "pipeline.created", "rm.created", "team.created"]


@pytest.mark.parametrize(("params", "loc"), [
    ({"actor_id": "bob"}, ["query", "actor_id"]), ({"from": "yesterday"}, ["query", "from"]),
    ({"to": "2026-01-17T11:00:00"}, ["query", "to"]), ({"limit": 501}, ["query", "limit"]),
    ({"cursor": "bm90LWEtbnVtYmVy"}, ["query", "cursor"]),
])
async def test_audit_bad_query_is_422(client, auth, params, loc):
    assert_problem(await client.get(f"{API}/audit", params=params, headers=auth.admin), 422, "validation_error",
                   loc=loc)


async def test_failed_write_leaves_no_audit_entry(client, auth, trail):
    response = await move(client, auth.rm(trail["rm"]["id"]), trail["pipeline"]["id"], "NEW", reason="oops")
    assert_problem(response, 409, "stage_change_not_allowed")
    assert len(await _actions(client, auth)) == 4
