"""Scope on allocation writes and what-if reads: a supervisor's POST /allocations (issue 9 item 5), simulations
and the workload's queue count (issue 9 item 10), and RM references that read the same unknown or out of scope."""
from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from sales.leads import repository as leads_repository
from sales.leads.models import leads
from tests.allocation_builders import allocate, city_with_rms, lead_payload
from tests.api.allocation.helpers import allocated, row_counts, start
from tests.builders import API, make_rm, make_team
from tests.checks import assert_problem

FORGED = {"customer": {"id": str(uuid.uuid4()), "name": "Mallory", "phone": "+91-9000000000",
                       "email": "mallory@example.com"},
          "city": "Bangalore", "zone": "South", "locality": "Koramangala", "expected_deal_value": "1.00",
          "segment": "BUYER"}


async def _stored_lead(engine: Any, lead_id: str) -> dict[str, Any]:
    """The lead read model as stored, customer decrypted."""
    async with engine.connect() as conn:
        row = (await conn.execute(select(leads).where(leads.c.id == uuid.UUID(lead_id)))).one()
    facts = {k: v for k, v in row._mapping.items() if k not in leads_repository.PII_FIELDS}
    return {**facts, "customer": leads_repository.customer_of(row)}


async def _queued_in_mumbai(client, auth) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A Mumbai lead nobody can take (the only Mumbai RM is offline), queued by the Leads domain."""
    mumbai = await make_team(client, auth.admin, city="Mumbai")
    await make_rm(client, auth.admin, team_id=mumbai["id"], city="Mumbai", zone="West", localities=["Andheri"],
                  availability="OFFLINE")
    payload = lead_payload(city="Mumbai", zone="West", locality="Andheri")
    queued = await client.post(f"{API}/allocations", json=payload, headers=auth.headers("SERVICE"))
    assert queued.status_code == 202, queued.text
    return payload


# --- issue 9 item 5: a supervisor's POST /allocations ----------------------------------------------------------


async def test_reposting_a_lead_live_in_another_team_is_404_without_its_allocation(client, auth, engine):
    """issue 9 item 5: the live allocation and its decision trace are not returned to another team's supervisor
    (GET of the same allocation is 404 for them), and nothing is written."""
    await start(client, auth.admin)
    team_a, _ = await city_with_rms(client, auth.admin, count=2)
    payload = lead_payload()
    live = await allocated(client, auth.headers("SERVICE"), **payload)
    same_city = await make_team(client, auth.admin)
    other_city = await make_team(client, auth.admin, city="Mumbai")
    stored, before = await _stored_lead(engine, payload["lead_id"]), await row_counts(engine)
    for team in (same_city, other_city):
        supervisor = auth.supervisor(uuid.UUID(team["id"]))
        assert_problem(await client.get(f"{API}/allocations/{live['id']}", headers=supervisor), 404,
                       "allocation_not_found")
        response = await client.post(f"{API}/allocations", json={**payload, **FORGED}, headers=supervisor)
        body = assert_problem(response, 404, "lead_not_found")
        assert live["id"] not in response.text and "decision" not in body and live["rm_id"] not in response.text
    assert await row_counts(engine) == before and await _stored_lead(engine, payload["lead_id"]) == stored
    own = await client.post(f"{API}/allocations", json=payload, headers=auth.supervisor(uuid.UUID(team_a["id"])))
    assert own.status_code == 200 and own.json()["id"] == live["id"]


async def test_a_queued_lead_of_another_city_cannot_be_taken_over(client, auth, engine):
    """issue 9 item 5: a Bangalore supervisor naming their own RM for a Mumbai queued lead gets 404, as GET
    /allocations/queued hides that lead from them; the lead's customer and place stay as they were."""
    await start(client, auth.admin)
    team, [rm] = await city_with_rms(client, auth.admin, count=1)
    payload = await _queued_in_mumbai(client, auth)
    supervisor = auth.supervisor(uuid.UUID(team["id"]))
    listed = await client.get(f"{API}/allocations/queued", headers=supervisor)
    assert listed.json()["items"] == []
    stored, before = await _stored_lead(engine, payload["lead_id"]), await row_counts(engine)
    response = await client.post(f"{API}/allocations", headers=supervisor, json={
        **payload, **FORGED, "rm_id": rm["id"], "reason": "mine now"})
    assert_problem(response, 404, "lead_not_found")
    assert "Rahul" not in response.text and "Mallory" not in response.text
    assert await row_counts(engine) == before and await _stored_lead(engine, payload["lead_id"]) == stored


async def test_a_supervisor_brings_in_new_leads_only_for_their_cities(client, auth, engine):
    """issue 9 item 5: a new lead of a city outside the supervisor's teams is 403, and nothing is stored."""
    await start(client, auth.admin)
    team, _ = await city_with_rms(client, auth.admin, count=1)
    await make_rm(client, auth.admin, team_id=(await make_team(client, auth.admin, city="Mumbai"))["id"],
                  city="Mumbai", zone="West", localities=["Andheri"])
    response = await allocate(client, auth.supervisor(uuid.UUID(team["id"])), city="Mumbai", zone="West",
                              locality="Andheri")
    assert_problem(response, 403, "forbidden")
    assert (await row_counts(engine))["leads"] == 0
    assert (await allocate(client, auth.supervisor(uuid.UUID(team["id"])))).status_code == 201


async def test_a_reposted_lead_is_routed_on_its_stored_facts_not_the_posted_ones(client, auth, engine):
    """issue 9 item 5: a re-posted lead keeps its stored customer and lead facts unless the caller is SERVICE;
    anyone else's differing facts (here a SALES_ADMIN's) are ignored, and the engine uses the stored ones."""
    await start(client, auth.admin)
    payload = await _queued_in_mumbai(client, auth)
    stored = await _stored_lead(engine, payload["lead_id"])
    mumbai_team = await make_team(client, auth.admin, city="Mumbai")
    rm = await make_rm(client, auth.admin, team_id=mumbai_team["id"], city="Mumbai", zone="West",
                       localities=["Andheri"])
    forged = {**payload, **FORGED, "city": "Mumbai", "locality": "Bandra"}
    admin = await client.post(f"{API}/allocations", json=forged, headers=auth.admin)  # the engine places it
    assert admin.status_code == 201, admin.text
    assert admin.json()["rm_id"] == rm["id"] and admin.json()["decision"]["lead"]["locality"] == "Andheri"
    routing_state = ("allocation_status", "queue_reason", "queued_at", "updated_at")
    unchanged = await _stored_lead(engine, payload["lead_id"])
    assert {k: v for k, v in unchanged.items() if k not in routing_state} == {
        k: v for k, v in stored.items() if k not in routing_state}
    assert unchanged["customer"] == {"id": uuid.UUID(payload["customer"]["id"]), "name": "Rahul Sharma",
                                     "phone": "+91-9876543210", "email": "rahul@example.com"}


async def test_a_supervisor_of_the_city_may_name_their_rm_for_its_queued_lead(client, auth, engine):
    """issue 9 item 5: the same lead is in scope for its own city's supervisor (as GET /allocations/queued
    shows it to them); their differing facts are ignored."""
    await start(client, auth.admin)
    payload = await _queued_in_mumbai(client, auth)
    mumbai_team = await make_team(client, auth.admin, city="Mumbai")
    rm = await make_rm(client, auth.admin, team_id=mumbai_team["id"], city="Mumbai", availability="OFFLINE")
    supervisor = auth.supervisor(uuid.UUID(mumbai_team["id"]))
    listed = await client.get(f"{API}/allocations/queued", headers=supervisor)
    assert [item["lead_id"] for item in listed.json()["items"]] == [payload["lead_id"]]
    taken = await client.post(f"{API}/allocations", headers=supervisor, json={
        **payload, **FORGED, "city": "Mumbai", "rm_id": rm["id"], "reason": "knows Andheri"})
    assert taken.status_code == 201, taken.text
    assert (taken.json()["rm_id"], taken.json()["city"]) == (rm["id"], "Mumbai")
    lead = await _stored_lead(engine, payload["lead_id"])
    assert (lead["customer"]["name"], lead["locality"], lead["segment"]) == ("Rahul Sharma", "Andheri", "TENANT")


async def test_service_still_refreshes_the_facts_of_a_lead_that_is_not_live(client, auth, engine):
    """The Leads domain owns the facts: its re-delivery of a queued lead updates them."""
    await start(client, auth.admin)
    payload = await _queued_in_mumbai(client, auth)
    again = await client.post(f"{API}/allocations", headers=auth.headers("SERVICE"), json={
        **payload, "customer": {**payload["customer"], "name": "Rahul S. Sharma"}, "locality": "Versova"})
    assert again.status_code == 202, again.text
    lead = await _stored_lead(engine, payload["lead_id"])
    assert (lead["customer"]["name"], lead["locality"]) == ("Rahul S. Sharma", "Versova")


# --- issue 9 item 10: simulations and workload only count what the caller may see ------------------------------


async def test_simulating_a_date_range_replays_only_the_callers_leads_and_rms(client, auth, engine):
    """issue 9 item 10: a supervisor's simulation holds their cities' leads and their teams' RMs only."""
    await start(client, auth.admin)
    team_a, rms_a = await city_with_rms(client, auth.admin, count=2)
    team_b, rms_b = await city_with_rms(client, auth.admin, count=1)      # another team in the same city
    mumbai = await make_team(client, auth.admin, city="Mumbai")
    rm_m = await make_rm(client, auth.admin, team_id=mumbai["id"], city="Mumbai", zone="West", localities=["Andheri"])
    service = auth.headers("SERVICE")
    bangalore = [await allocated(client, service) for _ in range(3)]
    mumbai_lead = await allocated(client, service, city="Mumbai", zone="West", locality="Andheri")
    range_ = {"from": "2026-01-17", "to": "2026-01-17"}

    mine = await client.post(f"{API}/allocations/simulate", json=range_,
                             headers=auth.supervisor(uuid.UUID(team_a["id"])))
    assert mine.status_code == 200, mine.text
    body = mine.json()
    assert {a["lead_id"] for a in body["allocations"]} == {a["lead_id"] for a in bangalore}
    assert {d["rm_id"] for d in body["distribution"]} == {rm["id"] for rm in rms_a}
    assert {a["rm_id"] for a in body["allocations"]} <= {rm["id"] for rm in rms_a}
    assert mumbai_lead["lead_id"] not in mine.text and rm_m["id"] not in mine.text and rms_b[0]["id"] not in mine.text

    everything = (await client.post(f"{API}/allocations/simulate", json=range_, headers=auth.admin)).json()
    assert everything["leads"] == 4
    assert {d["rm_id"] for d in everything["distribution"]} == {rm["id"] for rm in [*rms_a, *rms_b, rm_m]}


async def test_simulating_given_leads_uses_only_the_callers_rms(client, auth):
    """issue 9 item 10: leads the caller sends are matched against their own RMs, never another team's."""
    await start(client, auth.admin)
    team_a, _ = await city_with_rms(client, auth.admin, count=1)
    mumbai = await make_team(client, auth.admin, city="Mumbai")
    rm_m = await make_rm(client, auth.admin, team_id=mumbai["id"], city="Mumbai", zone="West", localities=["Andheri"])
    lead = lead_payload(city="Mumbai", zone="West", locality="Andheri")
    lead.pop("customer")
    response = await client.post(f"{API}/allocations/simulate", json={"leads": [lead]},
                                 headers=auth.supervisor(uuid.UUID(team_a["id"])))
    assert response.status_code == 200, response.text
    assert response.json()["queued"] == 1 and rm_m["id"] not in response.text


async def test_workload_for_a_city_counts_only_queued_leads_in_scope(client, auth):
    """issue 9 item 10: ?city= narrows the caller's scope, it never widens it."""
    await start(client, auth.admin)
    team, _ = await city_with_rms(client, auth.admin, count=1)
    await _queued_in_mumbai(client, auth)
    supervisor = auth.supervisor(uuid.UUID(team["id"]))
    for params in ({"city": "Mumbai"}, {"city": "mumbai "}, {}):
        response = await client.get(f"{API}/allocations/workload", params=params, headers=supervisor)
        assert response.status_code == 200, response.text
        assert response.json()["queued_leads"] == 0, params
    admin = await client.get(f"{API}/allocations/workload", params={"city": "Mumbai"}, headers=auth.admin)
    assert admin.json()["queued_leads"] == 1


async def test_an_rm_of_another_team_reads_like_an_unknown_rm_everywhere(client, auth, engine):
    """issue 9 item 10: manual allocation rm_id, reassign and bulk-reassign to_rm_id answer 422 naming the field
    in the same words for an RM outside the supervisor's teams and for one that does not exist."""
    await start(client, auth.admin)
    team, rms = await city_with_rms(client, auth.admin, count=2)
    live = await allocated(client, auth.headers("SERVICE"))
    _, [outsider] = await city_with_rms(client, auth.admin, count=1)
    supervisor = auth.supervisor(uuid.UUID(team["id"]))
    before = await row_counts(engine)

    def same_words(body: dict[str, Any], rm_id: str) -> str:
        return body["detail"].replace(rm_id, "<id>")

    for rm_id in (outsider["id"], str(uuid.uuid4())):
        manual = await allocate(client, supervisor, rm_id=rm_id)
        assert same_words(assert_problem(manual, 422, "validation_error", loc=["body", "rm_id"]), rm_id) == (
            "unknown RM <id>")
        single = await client.post(f"{API}/allocations/{live['id']}/reassign",
                                   json={"to_rm_id": rm_id, "reason": "x"}, headers=supervisor)
        assert same_words(assert_problem(single, 422, "validation_error", loc=["body", "to_rm_id"]), rm_id) == (
            "unknown RM <id>")
        bulk = await client.post(f"{API}/allocations/bulk-reassign", headers=supervisor, json={
            "allocation_ids": [live["id"]], "to_rm_id": rm_id, "reason": "x"})
        [result] = assert_problem(bulk, 409, "bulk_reassign_failed")["results"]
        assert (result["code"], result["error"].replace(rm_id, "<id>")) == ("validation_error", "unknown RM <id>")
    assert await row_counts(engine) == before
