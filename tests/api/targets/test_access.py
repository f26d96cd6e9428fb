"""Who may do what with targets (issue 13): 401 without a token, 403 for other roles, 404 out of scope."""
from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from tests.api.targets.helpers import TARGETS, create, start, target, team_of
from tests.commerce_builders import send

OTHER_ROLES = ("CUSTOMER", "SUPPORT_AGENT", "PRODUCT_MANAGER", "SERVICE")


def board(team_id: str, scope: str = "team") -> dict[str, str]:
    return {"metric_type": "REVENUE", "period_type": "MONTHLY", "period_start": "2026-01-01", "scope": scope,
            "scope_id": team_id}


@pytest.fixture
async def world(client, auth):
    await start(client, auth)
    team, [priya, arjun] = await team_of(client, auth.admin, "Priya Patel", "Arjun Rao")
    other_team, [meera] = await team_of(client, auth.admin, "Meera Iyer")
    return {"team": team, "priya": priya, "arjun": arjun, "other_team": other_team, "meera": meera,
            "priya_target": await target(client, auth.admin, priya["id"]),
            "meera_target": await target(client, auth.admin, meera["id"]),
            "team_target": await target(client, auth.admin, team["id"], target_type="TEAM")}


async def test_every_route_needs_a_token(client, world):
    target_id = world["priya_target"]["id"]
    for method, path, params in (("POST", TARGETS, None), ("GET", TARGETS, None),
                                 ("GET", f"{TARGETS}/{target_id}", None), ("PUT", f"{TARGETS}/{target_id}", None),
                                 ("GET", f"{TARGETS}/rm/{world['priya']['id']}", None),
                                 ("GET", f"{TARGETS}/team/{world['team']['id']}", None),
                                 ("GET", f"{TARGETS}/leaderboard", board(world["team"]["id"]))):
        response = await client.request(method, path, params=params, json={} if method in ("POST", "PUT") else None)
        assert response.status_code == 401, (method, path, response.text)


@pytest.mark.parametrize("role", OTHER_ROLES)
async def test_other_roles_are_refused(client, auth, world, role):
    headers = auth.headers(role)
    target_id = world["priya_target"]["id"]
    assert (await create(client, headers, world["priya"]["id"], period_start="2026-02-01")).status_code == 403
    for path, params in ((TARGETS, None), (f"{TARGETS}/{target_id}", None),
                         (f"{TARGETS}/rm/{world['priya']['id']}", None),
                         (f"{TARGETS}/team/{world['team']['id']}", None),
                         (f"{TARGETS}/leaderboard", board(world["team"]["id"]))):
        assert (await client.get(path, params=params, headers=headers)).status_code == 403, path
    put = await client.put(f"{TARGETS}/{target_id}", json={"status": "CANCELLED"}, headers=headers)
    assert put.status_code == 403


async def test_rms_and_finance_admins_do_not_set_targets(client, auth, world):
    for headers in (auth.rm(uuid.UUID(world["priya"]["id"])), auth.headers("FINANCE_ADMIN")):
        assert (await create(client, headers, world["priya"]["id"], period_start="2026-02-01")).status_code == 403
        put = await client.put(f"{TARGETS}/{world['priya_target']['id']}", json={"status": "CANCELLED"},
                               headers=headers)
        assert put.status_code == 403


async def test_an_rm_sees_their_own_targets_and_their_teams_leaderboard(client, auth, world):
    me = auth.rm(uuid.UUID(world["priya"]["id"]))
    listed = await client.get(TARGETS, headers=me)
    assert [t["id"] for t in listed.json()["items"]] == [world["priya_target"]["id"]]
    assert (await client.get(f"{TARGETS}/{world['priya_target']['id']}", headers=me)).status_code == 200
    for path in (f"{TARGETS}/{world['meera_target']['id']}", f"{TARGETS}/{world['team_target']['id']}",
                 f"{TARGETS}/rm/{world['arjun']['id']}", f"{TARGETS}/team/{world['team']['id']}"):
        assert (await client.get(path, headers=me)).status_code == 404, path
    mine = await client.get(f"{TARGETS}/rm/{world['priya']['id']}", headers=me)
    assert [t["id"] for t in mine.json()["items"]] == [world["priya_target"]["id"]]
    ok = await client.get(f"{TARGETS}/leaderboard", params=board(world["team"]["id"]), headers=me)
    assert ok.status_code == 200, ok.text
    for params in (board(world["other_team"]["id"]), board("Bangalore", scope="city")):
        assert (await client.get(f"{TARGETS}/leaderboard", params=params, headers=me)).status_code == 404


async def test_a_supervisor_sees_and_sets_their_teams_targets_only(client, auth, world):
    lead = auth.supervisor(uuid.UUID(world["team"]["id"]))
    listed = await client.get(TARGETS, headers=lead)
    assert {t["id"] for t in listed.json()["items"]} == {world["priya_target"]["id"], world["team_target"]["id"]}
    assert (await client.get(f"{TARGETS}/{world['meera_target']['id']}", headers=lead)).status_code == 404
    assert (await client.get(f"{TARGETS}/rm/{world['meera']['id']}", headers=lead)).status_code == 404
    assert (await client.get(f"{TARGETS}/team/{world['other_team']['id']}", headers=lead)).status_code == 404
    assert (await client.get(f"{TARGETS}/leaderboard", params=board(world["other_team"]["id"]),
                             headers=lead)).status_code == 404
    city = await client.get(f"{TARGETS}/leaderboard", params=board("Bangalore", scope="city"), headers=lead)
    assert city.status_code == 200, city.text
    created = await create(client, lead, world["arjun"]["id"], metric_type="DEALS_CLOSED", target_value=Decimal("5"))
    assert created.status_code == 201, created.text
    assert (await create(client, lead, world["meera"]["id"], period_start="2026-02-01")).status_code == 403
    assert (await create(client, lead, world["other_team"]["id"], target_type="TEAM")).status_code == 403
    assert (await create(client, lead, None, target_type="CITY", city="Bangalore")).status_code == 403
    put = await client.put(f"{TARGETS}/{world['meera_target']['id']}", json={"status": "CANCELLED"}, headers=lead)
    assert put.status_code == 404
    put = await client.put(f"{TARGETS}/{world['priya_target']['id']}", json={"target_value": 2500}, headers=lead)
    assert put.status_code == 200, put.text


async def test_admins_read_everything_and_unknown_ids_are_404(client, auth, world):
    for headers in (auth.admin, auth.headers("FINANCE_ADMIN")):
        listed = await client.get(TARGETS, headers=headers)
        assert len(listed.json()["items"]) == 3
        assert (await client.get(f"{TARGETS}/{uuid.uuid4()}", headers=headers)).status_code == 404
        assert (await client.get(f"{TARGETS}/rm/{uuid.uuid4()}", headers=headers)).status_code == 404
        assert (await client.get(f"{TARGETS}/team/{uuid.uuid4()}", headers=headers)).status_code == 404
        assert (await client.get(f"{TARGETS}/leaderboard", params=board(str(uuid.uuid4())),
                                 headers=headers)).status_code == 404
        assert (await client.get(f"{TARGETS}/leaderboard", params=board("Atlantis", scope="city"),
                                 headers=headers)).status_code == 404
    put = await send(client, "PUT", f"{TARGETS}/{uuid.uuid4()}", {"status": "CANCELLED"}, auth.admin)
    assert put.status_code == 404
