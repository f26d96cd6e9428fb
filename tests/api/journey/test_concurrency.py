"""Concurrent writes (issue 14): requirement versions and shortlist versions stay contiguous and unique, the
pipeline moves once; losers answer 409 and write nothing (both databases; real parallel connections on
PostgreSQL)."""
from __future__ import annotations

import asyncio

from sales.journey.models import requirements, shortlist_versions
from tests.api.journey.helpers import journey_setup, listing, requirements_body
from tests.builders import API, freeze_clock
from tests.checks import count, fetch


async def test_parallel_requirement_saves_make_contiguous_versions_and_one_stage_change(client, auth, engine):
    await freeze_clock(client, auth.admin)
    s = await journey_setup(client, auth, engine)
    pid = s["pipeline"]["id"]
    url = f"{API}/pipelines/{pid}/requirements"
    responses = await asyncio.gather(*(client.put(url, json=requirements_body(bhk_min=n, bhk_max=n),
                                                  headers=s["rm_auth"]) for n in range(1, 7)))
    assert {r.status_code for r in responses} <= {200, 409}, [r.text for r in responses]
    assert all(r.json()["code"] == "requirements_changed" for r in responses if r.status_code == 409)
    saved = [r.json()["version"] for r in responses if r.status_code == 200]
    assert sorted(saved) == list(range(1, len(saved) + 1))
    assert await count(engine, requirements) == len(saved)
    history = (await client.get(f"{API}/pipelines/{pid}/history", headers=s["rm_auth"])).json()["items"]
    assert [h["to_stage"] for h in history].count("REQUIREMENTS_CAPTURED") == 1


async def test_parallel_edits_of_a_shared_shortlist_never_lose_a_change(client, auth, engine):
    await freeze_clock(client, auth.admin)
    s = await journey_setup(client, auth, engine)
    first = await listing(client, auth)
    extra = [await listing(client, auth, price=30000.00 + n) for n in range(5)]
    created = await client.post(f"{API}/pipelines/{s['pipeline']['id']}/shortlists",
                                json={"listing_ids": [first["id"]]}, headers=s["rm_auth"])
    sid = created.json()["id"]
    assert (await client.post(f"{API}/shortlists/{sid}/share", json={"channel": "EMAIL"},
                              headers=s["rm_auth"])).status_code == 201
    responses = await asyncio.gather(*(client.patch(f"{API}/shortlists/{sid}", json={"add": [x["id"]]},
                                                    headers=s["rm_auth"]) for x in extra))
    assert {r.status_code for r in responses} <= {200, 409}, [r.text for r in responses]
    won = [r.json() for r in responses if r.status_code == 200]
    assert all(r.json()["code"] == "shortlist_changed" for r in responses if r.status_code == 409)
    final = (await client.get(f"{API}/shortlists/{sid}", headers=s["rm_auth"])).json()
    assert final["version"] == 1 + len(won)
    added = {w["items"][-1]["listing_id"] for w in won}
    assert {i["listing_id"] for i in final["items"]} == {first["id"], *added}
    versions = await fetch(engine, shortlist_versions, order_by=shortlist_versions.c.version)
    assert [v.version for v in versions] == list(range(1, len(won) + 2))
    assert await count(engine, shortlist_versions) == len(won) + 1
