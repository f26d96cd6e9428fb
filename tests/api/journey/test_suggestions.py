"""GET /pipelines/{id}/suggestions (issue 14 §2): must-haves, AVAILABLE only, explanations, limit, scoping."""
from __future__ import annotations

import pytest

from tests.api.journey.helpers import journey_setup, listing, save
from tests.builders import API, freeze_clock, make_rm_with_team
from tests.checks import assert_problem


@pytest.fixture
async def s(client, auth, engine):  # type: ignore[no-untyped-def]
    await freeze_clock(client, auth.admin)
    return await journey_setup(client, auth, engine)


async def test_suggestions_are_ranked_and_explained(client, auth, s):
    pid = s["pipeline"]["id"]
    best = await listing(client, auth, price=35000.00, bhk=2)
    partial = await listing(client, auth, price=38000.00, bhk=4, locality="HSR Layout", furnishing="FURNISHED")
    await listing(client, auth, price=41000.00)  # over budget: the must-have filters it out
    await listing(client, auth, price=30000.00, status="LET_OUT")  # never suggested
    await listing(client, auth, price=30000.00, deal_type="SALE")
    await save(client, s["rm_auth"], pid)
    r = await client.get(f"{API}/pipelines/{pid}/suggestions", headers=s["rm_auth"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["requirements_version"] == 1
    assert [i["listing"]["id"] for i in body["items"]] == [best["id"], partial["id"]]
    top = body["items"][0]
    assert top["score"] == 100 and top["adjusted_score"] == 100 and top["on_shortlist"] is False
    assert {c["criterion"]: c["status"] for c in top["explanation"]} == {
        "budget": "MET", "location": "MET", "bhk": "MET", "property_type": "MET", "furnishing": "MET",
        "amenities": "MET", "move_in": "MET"}
    second = {c["criterion"]: c for c in body["items"][1]["explanation"]}
    assert second["bhk"]["status"] == "PARTIAL" and second["bhk"]["credit"] == 0.5
    assert second["furnishing"]["detail"] == "furnished, one step from semi-furnished"
    assert "owner_id" not in body["items"][0]["listing"]
    limited = await client.get(f"{API}/pipelines/{pid}/suggestions?limit=1", headers=s["rm_auth"])
    assert len(limited.json()["items"]) == 1


async def test_near_uses_the_radius(client, auth, s):
    pid = s["pipeline"]["id"]
    inside = await listing(client, auth, lat=12.9352, lon=77.6245, locality="Somewhere")
    await listing(client, auth, lat=12.9352, lon=77.8000, locality="Far away")
    await save(client, s["rm_auth"], pid, localities=[], near={"lat": 12.9352, "lon": 77.6245, "radius_km": 2},
               criteria={"location": {"must": True}})
    body = (await client.get(f"{API}/pipelines/{pid}/suggestions", headers=s["rm_auth"])).json()
    assert [i["listing"]["id"] for i in body["items"]] == [inside["id"]]


async def test_no_requirements_is_409_and_scoping(client, auth, s):
    pid = s["pipeline"]["id"]
    url = f"{API}/pipelines/{pid}/suggestions"
    assert_problem(await client.get(url, headers=s["rm_auth"]), 409, "requirements_missing")
    _, stranger = await make_rm_with_team(client, auth.admin)
    assert_problem(await client.get(url, headers=auth.rm(stranger["id"])), 404, "pipeline_not_found")
    assert_problem(await client.get(url, headers=auth.headers("SUPPORT_AGENT")), 403, "forbidden")
    assert_problem(await client.get(url), 401, "not_authenticated")
    assert_problem(await client.get(url + "?limit=0", headers=s["rm_auth"]), 422, "validation_error",
                   loc=["query", "limit"])
