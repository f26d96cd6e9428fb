"""Versioned per-city rules (GET/PUT /allocations/rules, audited) and the what-if simulation (writes nothing)."""
from __future__ import annotations

import uuid

import pytest

from tests.allocation_builders import advance, city_with_rms, lead_payload
from tests.api.allocation.helpers import allocated, row_counts, start
from tests.builders import API, make_rm, make_team
from tests.checks import assert_problem, audit_rows


async def _put(client, auth, city="*", **rules):  # type: ignore[no-untyped-def]
    response = await client.put(f"{API}/allocations/rules", json={"city": city, "rules": rules}, headers=auth.admin)
    assert response.status_code == 200, response.text
    return response.json()


async def _get(client, headers, city="*"):  # type: ignore[no-untyped-def]
    response = await client.get(f"{API}/allocations/rules", params={"city": city}, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_rules_default_then_versions_per_city_with_partial_merge(client, auth, engine):
    await start(client, auth.admin)
    default = await _get(client, auth.admin)
    assert (default["city"], default["version"], default["inherited"]) == ("*", 0, False)
    assert default["rules"]["sla_minutes"] == 120 and default["rules"]["max_sla_breaches"] == 2

    one = await _put(client, auth, sla_minutes=60)
    two = await _put(client, auth, skill_match={"segment": False})
    assert (one["version"], two["version"]) == (1, 2)
    assert two["rules"]["sla_minutes"] == 60  # kept from version 1
    assert two["rules"]["skill_match"] == {"property_type": True, "segment": False, "deal_size": True}

    inherited = await _get(client, auth.admin, "Pune")
    assert (inherited["version"], inherited["inherited"], inherited["rules"]["sla_minutes"]) == (2, True, 60)
    city = await _put(client, auth, "Bangalore", max_sla_breaches=3)
    assert (city["city"], city["version"], city["inherited"]) == ("bangalore", 1, False)
    assert (city["rules"]["sla_minutes"], city["rules"]["max_sla_breaches"]) == (60, 3)  # merged over the default
    assert (await _get(client, auth.supervisor(uuid.uuid4()), " BANGALORE "))["version"] == 1
    assert (await _put(client, auth, "bangalore", sla_minutes=90))["version"] == 2
    assert (await _get(client, auth.admin))["version"] == 2  # the default did not move

    [first, *_] = await audit_rows(engine, action="allocation_rules.changed")
    assert len(await audit_rows(engine, action="allocation_rules.changed")) == 4
    assert first.entity_id == "*" and first.before["version"] == 0 and first.after["version"] == 1
    assert first.after["rules"]["sla_minutes"] == 60


async def test_city_rules_drive_allocations(client, auth):
    await start(client, auth.admin)
    await _put(client, auth, "Bangalore", sla_minutes=45)
    await city_with_rms(client, auth.admin, count=1)
    a = await allocated(client, auth.headers("SERVICE"))
    assert a["sla_deadline"] == "2026-01-17T11:15:00Z" and a["decision"]["rules_version"] == 1


@pytest.mark.parametrize("rules", [
    {"sla_minutes": 0}, {"geographic_widening": ["CITY", "LOCALITY"]}, {"timezone": "Nowhere/City"},
    {"unknown": True}, {"skill_match": {"colour": True}}, {"performance_boost": {"strength": 5}},
], ids=["sla-zero", "widening-order", "timezone", "unknown-key", "unknown-skill", "strength"])
async def test_invalid_rules_422_and_nothing_saved(client, auth, engine, rules):
    await start(client, auth.admin)
    response = await client.put(f"{API}/allocations/rules", json={"rules": rules}, headers=auth.admin)
    body = assert_problem(response, 422, "invalid_rules")
    assert body["errors"] and all(e["loc"][:2] == ["body", "rules"] for e in body["errors"])
    assert (await _get(client, auth.admin))["version"] == 0
    assert await audit_rows(engine, action="allocation_rules.changed") == []


async def test_malformed_rule_change_422(client, auth):
    for body, loc in (({"rules": 5}, ["body", "rules"]), ({}, ["body", "rules"]),
                      ({"city": "   ", "rules": {"sla_minutes": 5}}, ["body", "city"]),
                      ({"city": "", "rules": {}}, ["body", "city"]),
                      ({"rules": {}, "extra": 1}, ["body", "extra"])):
        response = await client.put(f"{API}/allocations/rules", json=body, headers=auth.admin)
        assert_problem(response, 422, "validation_error", loc=loc)


@pytest.mark.parametrize(("role", "get_status", "put_status"), [
    ("RM", 403, 403), ("SUPERVISOR", 200, 403), ("SERVICE", 403, 403), ("FINANCE_ADMIN", 403, 403),
])
async def test_rules_roles(client, auth, role, get_status, put_status):
    headers = auth.headers(role)
    assert (await client.get(f"{API}/allocations/rules", headers=headers)).status_code == get_status
    put = await client.put(f"{API}/allocations/rules", json={"rules": {"sla_minutes": 5}}, headers=headers)
    assert_problem(put, put_status, "forbidden")


# --- simulate ---------------------------------------------------------------------------------------------


def _sim_lead(**overrides):  # type: ignore[no-untyped-def]
    payload = lead_payload(**overrides)
    payload.pop("customer")
    return payload


async def test_simulate_leads_writes_nothing_and_spreads_evenly(client, auth, engine):
    await start(client, auth.admin)
    _, rms = await city_with_rms(client, auth.admin, count=3)
    leads = [_sim_lead() for _ in range(9)] + [_sim_lead(city="Atlantis")]
    before = await row_counts(engine)
    response = await client.post(f"{API}/allocations/simulate", json={"leads": leads}, headers=auth.admin)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["leads"], body["allocated"], body["overflow"], body["queued"]) == (10, 9, 0, 1)
    assert [a["lead_id"] for a in body["allocations"]] == [lead["lead_id"] for lead in leads]
    assert {d["rm_id"]: d["received"] for d in body["distribution"]} == {rm["id"]: 3 for rm in rms}
    assert all(d["active_after"] == 3 for d in body["distribution"])
    assert body["coefficient_of_variation"] == 0 and body["variance"] == 0
    assert await row_counts(engine) == before


async def test_simulate_with_proposed_rules_changes_the_outcome(client, auth, engine):
    await start(client, auth.admin)
    _, [rm] = await city_with_rms(client, auth.admin, count=1)  # residential only
    leads = [_sim_lead(property_type="COMMERCIAL")]
    current = (await client.post(f"{API}/allocations/simulate", json={"leads": leads}, headers=auth.admin)).json()
    assert current["queued"] == 1 and current["allocations"][0]["rm_id"] is None
    proposed = await client.post(f"{API}/allocations/simulate", json={
        "leads": leads, "rules": {"skill_match": {"property_type": False}}}, headers=auth.admin)
    assert proposed.status_code == 200, proposed.text
    assert proposed.json()["allocated"] == 1 and proposed.json()["allocations"][0]["rm_id"] == rm["id"]
    # A proposal is only tried, never saved.
    assert (await _get(client, auth.admin))["version"] == 0
    invalid = await client.post(f"{API}/allocations/simulate", json={"leads": leads, "rules": {"sla_minutes": -1}},
                                headers=auth.admin)
    assert_problem(invalid, 422, "invalid_rules")


async def test_simulate_a_date_range_replays_those_leads_and_writes_nothing(client, auth, engine):
    await start(client, auth.admin)
    team, rms = await city_with_rms(client, auth.admin, count=2)
    service = auth.headers("SERVICE")
    made = [await allocated(client, service) for _ in range(4)]
    await advance(client, auth.admin, 86400)
    await allocated(client, service)  # the next day: outside the range
    before = await row_counts(engine)
    response = await client.post(f"{API}/allocations/simulate", json={"from": "2026-01-17", "to": "2026-01-17"},
                                 headers=auth.supervisor(uuid.UUID(team["id"])))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["leads"] == 4
    assert {a["lead_id"] for a in body["allocations"]} == {a["lead_id"] for a in made}
    assert await row_counts(engine) == before


@pytest.mark.parametrize(("body", "loc"), [
    ({}, ["body"]),
    ({"leads": [], "from": "2026-01-17"}, ["body"]),
    ({"from": "2026-01-18", "to": "2026-01-17"}, ["body"]),
    ({"leads": [{"lead_id": "x"}]}, ["body", "leads", 0, "lead_id"]),
], ids=["no-source", "both-sources", "range-backwards", "bad-lead"])
async def test_simulate_bad_requests_422(client, auth, body, loc):
    response = await client.post(f"{API}/allocations/simulate", json=body, headers=auth.admin)
    assert_problem(response, 422, "validation_error", loc=loc)


@pytest.mark.parametrize("role", ["RM", "SERVICE", "CUSTOMER"])
async def test_simulate_roles_403(client, auth, role):
    response = await client.post(f"{API}/allocations/simulate", json={"leads": [_sim_lead()]},
                                 headers=auth.headers(role))
    assert_problem(response, 403, "forbidden")


async def test_simulate_uses_backup_pool_as_overflow(client, auth):
    await start(client, auth.admin)
    team, _ = await city_with_rms(client, auth.admin, count=1, capacity=1)
    backup = await make_rm(client, auth.admin, team_id=team["id"], name="Backup", is_backup=True, capacity=1)
    body = (await client.post(f"{API}/allocations/simulate", json={"leads": [_sim_lead() for _ in range(3)]},
                              headers=auth.admin)).json()
    assert [a["outcome"] for a in body["allocations"]] == ["ALLOCATED", "OVERFLOW", "QUEUED"]
    assert body["allocations"][1]["rm_id"] == backup["id"]
    assert await make_team(client, auth.admin)  # the directory is still writable: nothing was left locked


async def _rules_changed_elsewhere(engine, city: str, version: int, **config) -> None:  # type: ignore[no-untyped-def]
    """What another worker process's PUT /allocations/rules leaves in the database (this process's cache of the
    rules is not told)."""
    from datetime import UTC, datetime

    from sales.allocation import repository

    async with engine.begin() as conn:
        await repository.insert_rule_set(conn, {"id": uuid.uuid4(), "city": city, "version": version,
                                                "config": config, "created_by": None,
                                                "created_at": datetime(2026, 1, 17, tzinfo=UTC)})


async def test_rules_changed_by_another_process_reach_the_next_allocation(client, auth, engine):
    """The engine keeps each city's rules per process; the ids of the current rule sets come back with the
    candidates in the allocation's own transaction, so a change made through another worker is used at once."""
    await start(client, auth.admin)
    await _put(client, auth, "Bangalore", sla_minutes=45)
    await city_with_rms(client, auth.admin, count=2)
    service = auth.headers("SERVICE")
    first = await allocated(client, service, lead_id=str(uuid.uuid4()))
    assert first["decision"]["rules_version"] == 1 and first["sla_deadline"] == "2026-01-17T11:15:00Z"
    second = await allocated(client, service, lead_id=str(uuid.uuid4()))  # served from the cache
    assert second["decision"]["rules_version"] == 1 and second["sla_deadline"] == "2026-01-17T11:15:00Z"

    await _rules_changed_elsewhere(engine, "bangalore", 2, sla_minutes=30)
    third = await allocated(client, service, lead_id=str(uuid.uuid4()))
    assert third["decision"]["rules_version"] == 2 and third["sla_deadline"] == "2026-01-17T11:00:00Z"
    await _rules_changed_elsewhere(engine, "*", 1, sla_minutes=20)  # the default moves; the city's own stays
    fourth = await allocated(client, service, lead_id=str(uuid.uuid4()))
    assert fourth["decision"]["rules_version"] == 2 and fourth["sla_deadline"] == "2026-01-17T11:00:00Z"


async def test_rules_changed_elsewhere_reach_a_lead_whose_locality_no_rm_lists(client, auth, engine):
    """Its locality's stage has no candidate row to carry the rule set ids: the city stage's rows carry them, and
    the change is used all the same (issue 19: no statement of their own)."""
    await start(client, auth.admin)
    await _put(client, auth, "Bangalore", sla_minutes=45)
    await city_with_rms(client, auth.admin, count=2)
    service = auth.headers("SERVICE")
    unlisted = {"locality": "Nobody Lists This"}
    first = await allocated(client, service, lead_id=str(uuid.uuid4()), **unlisted)
    assert first["decision"]["geo_level"] != "LOCALITY" and first["decision"]["rules_version"] == 1
    await _rules_changed_elsewhere(engine, "bangalore", 2, sla_minutes=30)
    second = await allocated(client, service, lead_id=str(uuid.uuid4()), **unlisted)
    assert second["decision"]["rules_version"] == 2 and second["sla_deadline"] == "2026-01-17T11:00:00Z"


async def test_rules_changed_elsewhere_reach_a_city_without_rms(client, auth, engine):
    """No candidate row carries the rule set ids: they are read on their own, and a queued lead's trace names
    the current version."""
    await start(client, auth.admin)
    await _put(client, auth, "Nowhereville", sla_minutes=45)
    service = auth.headers("SERVICE")
    body = {"city": "Nowhereville", "zone": "Z", "locality": "L"}
    first = await client.post(f"{API}/allocations", json={**lead_payload(**body), "lead_id": str(uuid.uuid4())},
                              headers=service)
    assert first.status_code == 202, first.text
    assert first.json()["decision"]["rules_version"] == 1
    await _rules_changed_elsewhere(engine, "nowhereville", 2, sla_minutes=30)
    second = await client.post(f"{API}/allocations", json={**lead_payload(**body), "lead_id": str(uuid.uuid4())},
                               headers=service)
    assert second.status_code == 202, second.text
    assert second.json()["decision"]["rules_version"] == 2
