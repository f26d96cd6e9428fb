"""Issue 17 (PRD §3.2.3): decided_by stored on each engine allocation and filterable in GET /allocations."""
from __future__ import annotations

import uuid

from tests.allocation_builders import city_with_rms
from tests.api.allocation.helpers import allocated, get_allocation, start
from tests.builders import API, make_rm, make_team
from tests.checks import assert_problem


async def test_decided_by_is_stored_and_filters_the_list(client, auth):
    await start(client, auth.admin)
    team, rms = await city_with_rms(client, auth.admin, count=2)
    service = auth.headers("SERVICE")
    by_round_robin = await allocated(client, service)
    assert by_round_robin["decided_by"] == "ROUND_ROBIN"
    assert by_round_robin["decision"]["decided_by"] == "ROUND_ROBIN"
    lone = await make_rm(client, auth.admin, team_id=team["id"], name="Whitefield", localities=["Whitefield"],
                         zone="East")
    by_place = await allocated(client, service, locality="Whitefield", zone="East")
    assert (by_place["rm_id"], by_place["decided_by"]) == (lone["id"], "GEOGRAPHIC")
    commercial = await make_rm(client, auth.admin, team_id=team["id"], name="Commercial",
                               localities=["Whitefield"], zone="East", property_types=["COMMERCIAL"])
    by_skill = await allocated(client, service, locality="Whitefield", zone="East", property_type="COMMERCIAL")
    assert (by_skill["rm_id"], by_skill["decided_by"]) == (commercial["id"], "SKILL_BASED")
    manual = await allocated(client, auth.admin, rm_id=rms[0]["id"], reason="customer asked for her")
    assert manual["decided_by"] is None
    assert (await get_allocation(client, auth.admin, by_skill["id"]))["decided_by"] == "SKILL_BASED"

    for value, expected in (("ROUND_ROBIN", by_round_robin), ("GEOGRAPHIC", by_place), ("SKILL_BASED", by_skill)):
        response = await client.get(f"{API}/allocations", params={"decided_by": value}, headers=auth.admin)
        assert response.status_code == 200, response.text
        assert [a["id"] for a in response.json()["items"]] == [expected["id"]]
    supervisor = await client.get(f"{API}/allocations", params={"decided_by": "GEOGRAPHIC"},
                                  headers=auth.supervisor(uuid.UUID(team["id"])))
    assert [a["id"] for a in supervisor.json()["items"]] == [by_place["id"]]
    other_team = await make_team(client, auth.admin)
    hidden = await client.get(f"{API}/allocations", params={"decided_by": "GEOGRAPHIC"},
                              headers=auth.supervisor(uuid.UUID(other_team["id"])))
    assert hidden.json()["items"] == []


async def test_an_unknown_decided_by_is_422(client, auth):
    response = await client.get(f"{API}/allocations", params={"decided_by": "LUCK"}, headers=auth.admin)
    assert_problem(response, 422, "validation_error", loc=["query", "decided_by"])
