"""Issue 15 §6: POST /handoffs. TO_ASSISTED makes a lead with the user's context and runs the allocation engine
(an RM and a pipeline, or the queue); TO_SELF_SERVICE closes the RM's open pipeline with the reason; both
recorded, audited and emitted (sales.handoff.recorded)."""
from __future__ import annotations

import uuid

from sales.handoffs.models import handoffs
from tests.allocation_builders import city_with_rms, set_clock
from tests.api.inventory.helpers import put_listing
from tests.builders import API
from tests.checks import audit_rows, count, events

HANDOFFS = f"{API}/handoffs"
NOW = "2026-01-19T06:30:00Z"  # a Monday, 12:00 in Bangalore: RMs at work


async def _to_assisted(client, headers, user_id, **context):  # type: ignore[no-untyped-def]
    return await client.post(HANDOFFS, json={"user_id": user_id, "direction": "TO_ASSISTED",
                                             "reason": "wants help choosing", "context": context}, headers=headers)


async def test_to_assisted_allocates_a_lead_with_the_users_context(client, auth, engine):
    await set_clock(client, auth.admin, NOW)
    _, rms = await city_with_rms(client, auth.admin)
    listing = await put_listing(client, auth.admin, city="Bangalore", locality="Koramangala")
    user_id = str(uuid.uuid4())
    context = {"recent_views": [str(uuid.uuid4())], "shortlisted": [listing["id"]], "plan": "TENANT_PREMIUM"}
    r = await _to_assisted(client, auth.headers("CUSTOMER", sub=uuid.UUID(user_id)), user_id, **context)
    assert r.status_code == 201, r.text
    handoff = r.json()
    assert handoff["outcome"] == "ALLOCATED" and handoff["rm_id"] in {rm["id"] for rm in rms}
    assert handoff["context"] == context and len(handoff["pipeline_ids"]) == 1
    pipeline = (await client.get(f"{API}/pipelines/{handoff['pipeline_ids'][0]}", headers=auth.admin)).json()
    assert pipeline["rm_id"] == handoff["rm_id"] and pipeline["customer"]["id"] == user_id
    allocation = (await client.get(f"{API}/allocations/{handoff['allocation_id']}", headers=auth.admin)).json()
    assert allocation["lead_id"] == handoff["lead_id"] and allocation["city"] == "Bangalore"
    [recorded] = await events(engine, type="sales.handoff.recorded")
    assert recorded.envelope["data"]["direction"] == "TO_ASSISTED"
    assert await events(engine, type="sales.lead.allocated")
    assert [a.action for a in await audit_rows(engine, entity_type="handoff")] == ["handoff.recorded"]
    # a second request while an RM works with the user
    r = await _to_assisted(client, auth.headers("SERVICE"), user_id, city="Bangalore", locality="Koramangala")
    assert r.status_code == 409 and r.json()["code"] == "already_assisted"


async def test_to_assisted_without_a_free_rm_is_queued(client, auth, engine):
    await set_clock(client, auth.admin, NOW)
    r = await _to_assisted(client, auth.headers("SERVICE"), str(uuid.uuid4()), city="Pune", locality="Baner")
    assert r.status_code == 201, r.text
    assert (r.json()["outcome"], r.json()["rm_id"], r.json()["pipeline_ids"]) == ("QUEUED", None, [])


async def test_to_self_service_closes_the_rms_part_with_the_reason(client, auth, engine):
    await set_clock(client, auth.admin, NOW)
    _, rms = await city_with_rms(client, auth.admin, count=1)
    user_id = str(uuid.uuid4())
    assisted = (await _to_assisted(client, auth.headers("SERVICE"), user_id, city="Bangalore",
                                   locality="Koramangala")).json()
    rm_headers = auth.rm(uuid.UUID(rms[0]["id"]))
    r = await client.post(HANDOFFS, json={"user_id": user_id, "direction": "TO_SELF_SERVICE",
                                          "reason": "prefers browsing alone"}, headers=rm_headers)
    assert r.status_code == 201, r.text
    assert r.json()["outcome"] == "CLOSED" and r.json()["pipeline_ids"] == assisted["pipeline_ids"]
    pipeline = (await client.get(f"{API}/pipelines/{assisted['pipeline_ids'][0]}", headers=auth.admin)).json()
    assert pipeline["stage"] == "CLOSED_LOST"
    assert pipeline["loss_reason"] == "Handed back to self-service: prefers browsing alone"
    assert [e.envelope["data"]["direction"] for e in await events(engine, type="sales.handoff.recorded")] == [
        "TO_ASSISTED", "TO_SELF_SERVICE"]
    r = await client.post(HANDOFFS, json={"user_id": user_id, "direction": "TO_SELF_SERVICE", "reason": "again"},
                          headers=auth.admin)
    assert r.status_code == 409 and r.json()["code"] == "not_assisted"


async def test_roles_scope_and_bad_input(client, auth, engine):
    await set_clock(client, auth.admin, NOW)
    _, rms = await city_with_rms(client, auth.admin, count=1)
    user_id = str(uuid.uuid4())
    body = {"user_id": user_id, "direction": "TO_ASSISTED", "reason": "help",
            "context": {"city": "Bangalore", "locality": "Koramangala"}}
    assert (await client.post(HANDOFFS, json=body)).status_code == 401
    assert (await client.post(HANDOFFS, json=body, headers=auth.headers("FINANCE_ADMIN"))).status_code == 403
    assert (await client.post(HANDOFFS, json=body, headers=auth.headers("CUSTOMER"))).status_code == 403  # not them
    assert (await client.post(HANDOFFS, json=body, headers=auth.rm(uuid.UUID(rms[0]["id"])))).status_code == 403
    for bad, loc in (({**body, "direction": "SIDEWAYS"}, ["body", "direction"]),
                     ({**body, "reason": ""}, ["body", "reason"]),
                     ({**body, "user_id": "me"}, ["body", "user_id"]),
                     ({**body, "context": {"locality": "Koramangala"}}, ["body", "context", "city"]),
                     ({**body, "context": {**body["context"], "segment": "ALIEN"}}, ["body", "context", "segment"])):
        r = await client.post(HANDOFFS, json=bad, headers=auth.headers("SERVICE"))
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["errors"][0]["loc"][:len(loc)] == loc, r.json()
    assert await count(engine, handoffs) == 0
    assisted = (await client.post(HANDOFFS, json=body, headers=auth.headers("SERVICE"))).json()
    other_rm = auth.rm(uuid.uuid4())
    r = await client.post(HANDOFFS, json={"user_id": user_id, "direction": "TO_SELF_SERVICE", "reason": "x"},
                          headers=other_rm)
    assert r.status_code == 404
    pipeline = (await client.get(f"{API}/pipelines/{assisted['pipeline_ids'][0]}", headers=auth.admin)).json()
    assert pipeline["stage"] == "NEW"
