"""Teams: POST/GET /teams, GET/PUT /teams/{id} (issue 2 §5)."""
from __future__ import annotations

import uuid

import pytest

from tests.builders import API, freeze_clock, make_rm, make_team
from tests.checks import assert_problem, audit_rows, events, row_counts


async def test_create_team_with_given_id(client, auth, engine):
    now = await freeze_clock(client, auth.admin)
    team_id, supervisor = str(uuid.uuid4()), str(uuid.uuid4())
    response = await client.post(f"{API}/teams", headers=auth.admin, json={
        "id": team_id, "name": "Bangalore South", "city": "Bangalore", "supervisor_id": supervisor})
    assert response.status_code == 201, response.text
    assert response.json() == {"id": team_id, "name": "Bangalore South", "city": "Bangalore",
                               "supervisor_id": supervisor, "created_at": now, "updated_at": now}
    [entry] = await audit_rows(engine, entity_type="team")
    assert (entry.action, entry.entity_id, entry.before) == ("team.created", team_id, None)
    assert entry.after["name"] == "Bangalore South" and entry.actor_roles == ["SALES_ADMIN"]
    assert await events(engine) == []


async def test_create_team_generates_an_id_and_allows_no_supervisor(client, auth):
    response = await client.post(f"{API}/teams", headers=auth.admin, json={"name": "Pune West", "city": "Pune"})
    assert response.status_code == 201
    assert uuid.UUID(response.json()["id"]) and response.json()["supervisor_id"] is None


async def test_create_team_with_an_existing_id_is_409_and_writes_nothing(client, auth, engine):
    team = await make_team(client, auth.admin)
    before = await row_counts(engine)
    response = await client.post(f"{API}/teams", headers=auth.admin,
                                 json={"id": team["id"], "name": "Again", "city": "Pune"})
    assert_problem(response, 409, "team_exists")
    assert await row_counts(engine) == before


@pytest.mark.parametrize(("body", "loc"), [
    ({"name": "", "city": "Pune"}, ["body", "name"]),
    ({"city": "Pune"}, ["body", "name"]),
    ({"name": "A", "city": None}, ["body", "city"]),
    ({"name": "A", "city": "Pune", "supervisor_id": "nope"}, ["body", "supervisor_id"]),
    ({"name": "A", "city": "Pune", "id": "123"}, ["body", "id"]),
    ({"name": "x" * 201, "city": "Pune"}, ["body", "name"]),
])
async def test_create_team_bad_input_is_422_naming_the_field(client, auth, engine, body, loc):
    response = await client.post(f"{API}/teams", headers=auth.admin, json=body)
    assert_problem(response, 422, "validation_error", loc=loc)
    assert (await row_counts(engine))["teams"] == 0


async def test_list_teams_by_name_with_cursor_pagination(client, auth):
    for name in ("Delta", "Alpha", "Charlie", "Bravo", "Echo"):
        await make_team(client, auth.admin, name=name)
    names, cursor = [], None
    for _ in range(3):
        response = await client.get(f"{API}/teams", params={"limit": 2, **({"cursor": cursor} if cursor else {})},
                                    headers=auth.admin)
        assert response.status_code == 200
        page = response.json()
        names += [t["name"] for t in page["items"]]
        cursor = page["next_cursor"]
    assert names == ["Alpha", "Bravo", "Charlie", "Delta", "Echo"] and cursor is None


async def test_list_teams_filters_by_city(client, auth):
    await make_team(client, auth.admin, name="Pune West", city="Pune")
    await make_team(client, auth.admin, name="Mumbai West", city="Mumbai")
    response = await client.get(f"{API}/teams", params={"city": "Pune"}, headers=auth.admin)
    assert [t["name"] for t in response.json()["items"]] == ["Pune West"]


async def test_teams_are_scoped_to_the_caller(client, auth):
    mine = await make_team(client, auth.admin, name="Mine")
    theirs = await make_team(client, auth.admin, name="Theirs")
    rm = await make_rm(client, auth.admin, team_id=mine["id"])
    supervisor = auth.supervisor(uuid.UUID(mine["id"]))

    for headers in (supervisor, auth.rm(rm["id"])):
        listed = await client.get(f"{API}/teams", headers=headers)
        assert [t["id"] for t in listed.json()["items"]] == [mine["id"]]
        assert (await client.get(f"{API}/teams/{mine['id']}", headers=headers)).status_code == 200
        assert_problem(await client.get(f"{API}/teams/{theirs['id']}", headers=headers), 404, "team_not_found")

    for role in ("FINANCE_ADMIN", "SUPPORT_AGENT", "PRODUCT_MANAGER", "SALES_ADMIN"):
        listed = await client.get(f"{API}/teams", headers=auth.headers(role))
        assert len(listed.json()["items"]) == 2, role


async def test_get_unknown_team_is_404(client, auth):
    assert_problem(await client.get(f"{API}/teams/{uuid.uuid4()}", headers=auth.admin), 404, "team_not_found")


async def test_update_team_changes_given_fields_and_is_audited(client, auth, engine):
    created_at = await freeze_clock(client, auth.admin)
    team = await make_team(client, auth.admin, name="Old", city="Pune")
    later = await freeze_clock(client, auth.admin, at="2026-01-18T09:00:00Z")
    supervisor = str(uuid.uuid4())
    response = await client.put(f"{API}/teams/{team['id']}", headers=auth.admin,
                                json={"name": "New", "supervisor_id": supervisor})
    assert response.status_code == 200, response.text
    assert response.json() == {**team, "name": "New", "supervisor_id": supervisor, "city": "Pune",
                               "created_at": created_at, "updated_at": later}
    entry = (await audit_rows(engine, entity_type="team", action="team.updated"))[0]
    assert entry.before["name"] == "Old" and entry.after["name"] == "New"


async def test_update_team_with_its_own_id_in_the_body_is_fine(client, auth):
    team = await make_team(client, auth.admin)
    response = await client.put(f"{API}/teams/{team['id']}", headers=auth.admin, json={"id": team["id"], "city": "Goa"})
    assert response.status_code == 200 and response.json()["city"] == "Goa"


@pytest.mark.parametrize(("body", "loc"), [
    ({"id": str(uuid.uuid4())}, ["body", "id"]),
    ({"name": None}, ["body", "name"]),
    ({"city": None}, ["body", "city"]),
    ({"name": ""}, ["body", "name"]),
    ({"supervisor_id": "x"}, ["body", "supervisor_id"]),
])
async def test_update_team_bad_input_is_422_and_writes_nothing(client, auth, engine, body, loc):
    team = await make_team(client, auth.admin)
    before = await row_counts(engine)
    response = await client.put(f"{API}/teams/{team['id']}", headers=auth.admin, json=body)
    assert_problem(response, 422, "validation_error", loc=loc)
    assert await row_counts(engine) == before


async def test_update_unknown_team_is_404(client, auth):
    response = await client.put(f"{API}/teams/{uuid.uuid4()}", headers=auth.admin, json={"name": "X"})
    assert_problem(response, 404, "team_not_found")
