"""Shortlists (issue 14 §3, US-SALE-012): build, edit, versions with diffs once shared, share, scoping."""
from __future__ import annotations

import uuid

import pytest

from sales.journey.models import shares, shortlist_versions, shortlists
from tests.api.journey.helpers import journey_setup, listing, save
from tests.builders import API, freeze_clock, make_rm_with_team
from tests.checks import assert_problem, audit_rows, count, events


@pytest.fixture
async def s(client, auth, engine):  # type: ignore[no-untyped-def]
    await freeze_clock(client, auth.admin)
    setup = await journey_setup(client, auth, engine)
    setup["a"] = await listing(client, auth, price=35000.00)
    setup["b"] = await listing(client, auth, price=36000.00, locality="HSR Layout")
    setup["c"] = await listing(client, auth, price=30000.00, locality="Indiranagar", lat=12.978400, lon=77.640800)
    await save(client, setup["rm_auth"], setup["pipeline"]["id"])
    return setup


async def create(client, s, **body):  # type: ignore[no-untyped-def]
    return await client.post(f"{API}/pipelines/{s['pipeline']['id']}/shortlists", json=body, headers=s["rm_auth"])


async def test_create_from_suggestions_and_manual_listings(client, auth, engine, s):
    r = await create(client, s, title="Koramangala picks", from_suggestions=2, listing_ids=[s["c"]["id"]])
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["title"] == "Koramangala picks" and body["version"] == 1 and body["shared_version"] is None
    assert [(i["listing_id"], i["position"], i["manual"]) for i in body["items"]] == [
        (s["a"]["id"], 1, False), (s["b"]["id"], 2, False), (s["c"]["id"], 3, True)]
    manual = body["items"][2]
    assert manual["listing"]["locality"] == "Indiranagar"
    assert {c["criterion"]: c["status"] for c in manual["explanation"]}["location"] == "MISSED"
    assert body["items"][0]["score"] == 100 and body["items"][0]["explanation"]
    listed = (await client.get(f"{API}/pipelines/{s['pipeline']['id']}/shortlists", headers=s["rm_auth"])).json()
    assert [x["id"] for x in listed] == [body["id"]]
    assert (await client.get(f"{API}/shortlists/{body['id']}", headers=s["rm_auth"])).json() == body
    assert await audit_rows(engine, action="shortlist.created")
    sugg = (await client.get(f"{API}/pipelines/{s['pipeline']['id']}/suggestions", headers=s["rm_auth"])).json()
    assert all(i["on_shortlist"] for i in sugg["items"] if i["listing"]["id"] in (s["a"]["id"], s["b"]["id"]))


async def test_edits_before_sharing_stay_version_1_and_after_sharing_make_versions_with_diffs(client, auth, engine, s):
    sid = (await create(client, s, listing_ids=[s["a"]["id"], s["b"]["id"]])).json()["id"]
    url = f"{API}/shortlists/{sid}"
    r = await client.patch(url, json={"notes": "Close to the office"}, headers=s["rm_auth"])
    assert r.status_code == 200 and r.json()["version"] == 1 and r.json()["notes"] == "Close to the office"
    assert (await client.get(f"{url}/versions", headers=s["rm_auth"])).json() == []
    shared = await client.post(f"{url}/share", json={"channel": "WHATSAPP"}, headers=s["rm_auth"])
    assert shared.status_code == 201, shared.text
    r = await client.patch(url, json={"add": [s["c"]["id"]], "remove": [s["a"]["id"]],
                                      "item_notes": [{"listing_id": s["b"]["id"], "note": "Park view"}]},
                           headers=s["rm_auth"])
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2
    r = await client.patch(url, json={"order": [s["c"]["id"], s["b"]["id"]]}, headers=s["rm_auth"])
    assert r.json()["version"] == 3 and [i["listing_id"] for i in r.json()["items"]] == [s["c"]["id"], s["b"]["id"]]
    versions = (await client.get(f"{url}/versions", headers=s["rm_auth"])).json()
    assert [v["version"] for v in versions] == [3, 2, 1]
    assert versions[2]["diff"]["added"] == [s["a"]["id"], s["b"]["id"]]
    assert versions[1]["diff"] == {"added": [s["c"]["id"]], "removed": [s["a"]["id"]],
                                   "moved": [{"listing_id": s["b"]["id"], "from": 2, "to": 1}],
                                   "notes_changed": [s["b"]["id"]], "shortlist_notes_changed": False}
    assert versions[0]["diff"]["moved"] == [{"listing_id": s["c"]["id"], "from": 2, "to": 1},
                                            {"listing_id": s["b"]["id"], "from": 1, "to": 2}]
    assert [i["listing_id"] for i in versions[1]["items"]] == [s["b"]["id"], s["c"]["id"]]
    # nothing changed: no new version
    same = await client.patch(url, json={"order": [s["c"]["id"], s["b"]["id"]]}, headers=s["rm_auth"])
    assert same.json()["version"] == 3 and await count(engine, shortlist_versions) == 3


async def test_share_makes_a_token_notifies_and_moves_the_pipeline(client, auth, engine, s):
    sid = (await create(client, s, listing_ids=[s["a"]["id"]])).json()["id"]
    r = await client.post(f"{API}/shortlists/{sid}/share", json={"channel": "EMAIL"}, headers=s["rm_auth"])
    assert r.status_code == 201, r.text
    body = r.json()
    assert len(body["token"]) >= 32 and body["url"].endswith(f"/s/{body['token']}")
    assert body["expires_at"] == "2026-01-31T10:30:00Z" and body["version"] == 1 and body["channel"] == "EMAIL"
    assert body["notification"] == {"status": "REQUESTED", "channel": "EMAIL", "reason": "REQUESTED"}
    [note] = await events(engine, type="sales.notification.requested")
    assert note.envelope["data"]["template"] == "sales.shortlist.shared"
    assert note.envelope["data"]["recipient"]["id"] == str(s["lead"]["customer_id"])
    stage = (await client.get(f"{API}/pipelines/{s['pipeline']['id']}", headers=s["rm_auth"])).json()["stage"]
    assert stage == "SHORTLIST_SENT"
    async with engine.connect() as conn:
        from sqlalchemy import select
        stored = (await conn.execute(select(shares.c.token_hash))).scalar_one()
    assert body["token"] not in stored  # only the hash is kept
    again = await client.post(f"{API}/shortlists/{sid}/share", json={"channel": "IN_APP", "expires_in_days": 3},
                              headers=s["rm_auth"])
    assert again.json()["token"] != body["token"] and again.json()["expires_at"] == "2026-01-20T10:30:00Z"


async def test_bad_input_names_the_field_and_writes_nothing(client, auth, engine, s):
    removed = await listing(client, auth, status="INACTIVE")
    assert_problem(await create(client, s, listing_ids=[str(uuid.uuid4())]), 422, "validation_error",
                   loc=["body", "listing_ids", 0])
    assert_problem(await create(client, s, listing_ids=[s["a"]["id"], removed["id"]]), 422, "validation_error",
                   loc=["body", "listing_ids", 1])
    assert await count(engine, shortlists) == 0
    sid = (await create(client, s)).json()["id"]
    url = f"{API}/shortlists/{sid}"
    assert_problem(await client.post(f"{url}/share", json={"channel": "WHATSAPP"}, headers=s["rm_auth"]), 409,
                   "shortlist_empty")
    assert await count(engine, shares) == 0
    assert_problem(await client.post(f"{url}/share", json={"channel": "SMS"}, headers=s["rm_auth"]), 422,
                   "validation_error", loc=["body", "channel"])
    assert_problem(await client.patch(url, json={"remove": [s["a"]["id"]]}, headers=s["rm_auth"]), 422,
                   "validation_error", loc=["body", "remove", 0])
    assert_problem(await client.patch(url, json={"add": [removed["id"]]}, headers=s["rm_auth"]), 422,
                   "validation_error", loc=["body", "add", 0])
    await client.patch(url, json={"add": [s["a"]["id"]]}, headers=s["rm_auth"])
    assert_problem(await client.patch(url, json={"add": [s["a"]["id"]]}, headers=s["rm_auth"]), 422,
                   "validation_error", loc=["body", "add", 0])
    assert_problem(await client.patch(url, json={"order": [s["b"]["id"]]}, headers=s["rm_auth"]), 422,
                   "validation_error", loc=["body", "order"])
    stage = (await client.get(f"{API}/pipelines/{s['pipeline']['id']}", headers=s["rm_auth"])).json()["stage"]
    assert stage == "REQUIREMENTS_CAPTURED"


async def test_scoping(client, auth, s):
    sid = (await create(client, s, listing_ids=[s["a"]["id"]])).json()["id"]
    _, stranger = await make_rm_with_team(client, auth.admin)
    other = auth.rm(stranger["id"])
    for method, path, body in [("GET", f"/shortlists/{sid}", None), ("PATCH", f"/shortlists/{sid}", {"notes": "x"}),
                               ("GET", f"/shortlists/{sid}/versions", None),
                               ("POST", f"/shortlists/{sid}/share", {"channel": "EMAIL"})]:
        assert_problem(await client.request(method, API + path, json=body, headers=other), 404, "shortlist_not_found")
        assert_problem(await client.request(method, API + path, json=body, headers=auth.headers("CUSTOMER")), 403,
                       "forbidden")
        assert_problem(await client.request(method, API + path, json=body), 401, "not_authenticated")
    pid = s["pipeline"]["id"]
    assert_problem(await client.get(f"{API}/pipelines/{pid}/shortlists", headers=other), 404, "pipeline_not_found")
    assert_problem(await client.post(f"{API}/pipelines/{pid}/shortlists", json={}, headers=other), 404,
                   "pipeline_not_found")
    supervisor = auth.supervisor(uuid.UUID(s["team"]["id"]))
    assert (await client.get(f"{API}/shortlists/{sid}", headers=supervisor)).status_code == 200
    assert (await client.get(f"{API}/shortlists/{sid}", headers=auth.admin)).status_code == 200
