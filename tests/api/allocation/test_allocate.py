"""POST /api/v1/sales/allocations: engine choice with trace, lead + pipeline creation, idempotent re-allocation,
queueing (LAR-007), overflow, manual allocation with LAR-002 and its override, roles and bad payloads."""
from __future__ import annotations

import uuid

import pytest

from tests.allocation_builders import allocate, city_with_rms, lead_payload
from tests.api.allocation.helpers import (PRD_FIELDS, active_leads, allocated, event_data, get_pipeline, get_rm,
                                          row_counts, start, statements_starting)
from tests.builders import API, make_leave, make_rm, make_team
from tests.checks import assert_problem
from tests.events_schema import assert_valid


async def test_allocate_201_with_prd_fields_trace_lead_and_pipeline(client, auth, engine):
    """LAR-001/LAR-004/LAR-006: the engine picks an RM, explains why, opens the NEW pipeline for them."""
    await start(client, auth.admin)
    team, rms = await city_with_rms(client, auth.admin, count=2)
    response = await allocate(client, auth.headers("SERVICE"), expected_deal_value="100000.00", segment="BUYER")
    assert response.status_code == 201, response.text
    body = response.json()
    assert PRD_FIELDS <= body.keys()
    assert body["rm_id"] in {rm["id"] for rm in rms}
    assert (body["allocation_type"], body["status"], body["is_reassignment"]) == ("AUTO", "PENDING", False)
    assert body["previous_rm_id"] is None and body["reassignment_reason"] is None
    assert body["accepted_at"] is None and body["first_action_at"] is None
    assert body["allocated_at"] == body["created_at"] == "2026-01-17T10:30:00Z"
    assert body["sla_deadline"] == "2026-01-17T12:30:00Z"
    assert body["priority"] == 5  # 1L value (3) + buyer (1) + inbound call (1)
    assert body["team_id"] == team["id"] and body["allocation_reason"]

    decision = body["decision"]
    assert decision["outcome"] == "ALLOCATED" and decision["rm_id"] == body["rm_id"]
    assert decision["geo_level"] == "LOCALITY"
    assert {c["rm_id"] for c in decision["candidates"]} == {rm["id"] for rm in rms}
    assert [c["rm_id"] for c in decision["candidates"] if c.get("winner")] == [body["rm_id"]]
    assert decision["lead"]["priority_breakdown"]["priority"] == 5

    pipeline = await get_pipeline(client, auth.admin, body["pipeline_id"])
    assert (pipeline["stage"], pipeline["rm_id"], pipeline["lead_id"]) == ("NEW", body["rm_id"], body["lead_id"])
    assert pipeline["customer"]["name"] == "Rahul Sharma"
    assert (await get_rm(client, auth.admin, body["rm_id"]))["active_leads"] == 1

    [event] = await event_data(engine, "sales.lead.allocated")
    assert (event["allocation_id"], event["lead_id"], event["rm_id"]) == (body["id"], body["lead_id"], body["rm_id"])


async def test_allocated_event_matches_its_schema(client, auth, engine):
    await start(client, auth.admin)
    await city_with_rms(client, auth.admin, count=1)
    await allocated(client, auth.headers("SERVICE"))
    from sqlalchemy import select

    from sales.core.tables import outbox_events
    async with engine.connect() as conn:
        envelopes = (await conn.execute(select(outbox_events.c.envelope))).scalars().all()
    assert {"sales.lead.allocated", "sales.pipeline.created"} <= {e["type"] for e in envelopes}
    for envelope in envelopes:
        if envelope["type"].startswith("sales.lead."):
            assert_valid(envelope)


async def test_second_post_for_a_live_lead_returns_the_same_allocation(client, auth, engine):
    """A lead never gets two live allocations: the second POST answers 200 and writes nothing new."""
    await start(client, auth.admin)
    await city_with_rms(client, auth.admin, count=3)
    payload = lead_payload()
    first = await client.post(f"{API}/allocations", json=payload, headers=auth.headers("SERVICE"))
    assert first.status_code == 201, first.text
    before, load = await row_counts(engine), await active_leads(engine)
    again = await client.post(f"{API}/allocations", json=payload, headers=auth.headers("SERVICE"))
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"] and again.json()["rm_id"] == first.json()["rm_id"]
    assert await row_counts(engine) == before
    assert await active_leads(engine) == load
    # A redelivery with other facts does not rewrite the live lead either.
    from sqlalchemy import select

    from sales.leads.models import leads
    async with engine.connect() as conn:
        stored = (await conn.execute(select(leads).where(leads.c.id == uuid.UUID(payload["lead_id"])))).one()
    moved = await client.post(f"{API}/allocations", json={**payload, "city": "Mumbai", "locality": "Andheri"},
                              headers=auth.headers("SERVICE"))
    assert moved.status_code == 200 and moved.json()["id"] == first.json()["id"]
    async with engine.connect() as conn:
        assert (await conn.execute(select(leads).where(leads.c.id == uuid.UUID(payload["lead_id"])))).one() == stored


async def test_one_allocation_writes_its_events_in_order_in_one_insert(client, auth, engine, backend):
    """Issue 19: the pipeline's, the allocation's and the RM's notification's events of one allocation are written
    together at its end (one INSERT), in the order they happened; on PostgreSQL in the statement that chains the
    allocation's audit rows."""
    from sqlalchemy import select

    from sales.core.tables import outbox_events
    await start(client, auth.admin)
    await city_with_rms(client, auth.admin, count=2)
    with statements_starting(engine, "INSERT INTO outbox_events", anywhere=True) as inserts:
        body = await allocated(client, auth.headers("SERVICE"))
    assert len(inserts) == 1
    assert ("INSERT INTO audit_log" in inserts[0]) == (backend == "postgres")
    async with engine.connect() as conn:
        rows = (await conn.execute(select(outbox_events.c.type, outbox_events.c.envelope)
                                   .order_by(outbox_events.c.seq))).all()
    mine = [r for r in rows if body["id"] in str(r.envelope["data"]) or body["pipeline_id"] in str(r.envelope)]
    assert [r.type for r in mine] == ["sales.pipeline.created", "sales.lead.allocated",
                                      "sales.notification.requested"]


async def test_lar_002_a_first_allocation_claims_its_rm_in_its_own_insert_on_postgres(client, auth, engine, backend):
    """LAR-002, issue 19: on PostgreSQL the capacity claim is a CTE of the statement that inserts the pipeline and
    the allocation (one round trip fewer); on SQLite it is an UPDATE of its own. Either way the slot is taken once."""
    await start(client, auth.admin)
    await city_with_rms(client, auth.admin, count=2)
    before = await active_leads(engine)
    with statements_starting(engine, "UPDATE rms") as apart, statements_starting(engine, "WITH claimed AS") as folded:
        body = await allocated(client, auth.headers("SERVICE"))
    assert (len(folded), len(apart)) == ((1, 0) if backend == "postgres" else (0, 1))
    after = await active_leads(engine)
    assert after[body["rm_id"]] == before[body["rm_id"]] + 1
    assert {rm_id: n for rm_id, n in after.items() if rm_id != body["rm_id"]} == \
        {rm_id: n for rm_id, n in before.items() if rm_id != body["rm_id"]}


@pytest.mark.postgres_only
async def test_an_allocation_sends_only_statements_built_once(client, auth, engine, backend):
    """Issue 19: every statement of an allocation (a new lead placed by the engine, on PostgreSQL) is an object
    built once per process or per shape, executed with its values bound: building statements per request (values,
    ON CONFLICT clauses, their cache keys) was ~1.1 ms of the ~8.5 ms an allocation cost at prd."""
    from sqlalchemy import event

    from sales.core.audit_chain import GENESIS, PARTITIONS
    from sales.core.db import insert_unless_exists
    from sales.core.tables import audit_chain

    await start(client, auth.admin)
    await city_with_rms(client, auth.admin, count=2)
    async with engine.begin() as conn:  # every chain started: no allocation below writes a partition's first row
        for partition in range(PARTITIONS):
            await conn.execute(insert_unless_exists(conn, audit_chain, audit_chain.c.partition).values(
                partition=partition, length=0, head_hash=GENESIS))
    service = auth.headers("SERVICE")
    await allocated(client, service)  # the first: rules read, every shape compiled
    sent: list[list[object]] = []

    def seen(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        sent[-1].append(context.invoked_statement)

    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        for _ in range(2):
            sent.append([])
            await allocated(client, service)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", seen)
    first, second = sent
    assert len(first) == len(second) >= 5  # lead, candidates, claim, allocation, audit rows (+notice)
    assert all(a is b for a, b in zip(first, second)), [str(b)[:80] for a, b in zip(first, second) if a is not b]


async def test_redelivered_queued_lead_is_refreshed_by_one_upsert(client, auth, engine):
    """A SERVICE redelivery of a lead without a live allocation rewrites its facts in the one upsert that also
    locks it, while other leads' live allocations do not count against it."""
    from sqlalchemy import select

    from sales.leads.models import leads
    await start(client, auth.admin)
    await city_with_rms(client, auth.admin, count=1)
    service = auth.headers("SERVICE")
    assert (await allocate(client, service)).status_code == 201  # another lead, live
    payload = lead_payload(city="Atlantis")
    assert (await client.post(f"{API}/allocations", json=payload, headers=service)).status_code == 202
    with statements_starting(engine, "INSERT INTO leads") as upserts:
        again = await client.post(f"{API}/allocations", json={**payload, "zone": "North", "locality": "Hebbal"},
                                  headers=service)
    assert again.status_code == 202, again.text
    assert len(upserts) == 1
    async with engine.connect() as conn:
        stored = (await conn.execute(select(leads).where(leads.c.id == uuid.UUID(payload["lead_id"])))).one()
    assert (stored.zone, stored.locality) == ("North", "Hebbal")


@pytest.mark.parametrize("city", ["Atlantis", "Bangalore"], ids=["LAR-007-unknown-city", "LAR-007-nobody-free"])
async def test_nobody_eligible_queues_the_lead_202(client, auth, engine, city):
    """LAR-007: no RM can take it -> 202 QUEUED with a reason; the lead is kept, nothing is allocated."""
    await start(client, auth.admin)
    await city_with_rms(client, auth.admin, count=2, capacity=0)
    payload = lead_payload(city=city)
    response = await client.post(f"{API}/allocations", json=payload, headers=auth.headers("SERVICE"))
    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["lead_id"], body["status"]) == (payload["lead_id"], "QUEUED")
    assert body["reason"]
    counts = await row_counts(engine)
    assert counts["rm_allocations"] == 0 and counts["leads"] == 1 and counts["sales_pipelines"] == 0
    assert [e["lead_id"] for e in await event_data(engine, "sales.lead.queued")] == [payload["lead_id"]]
    if city == "Bangalore":
        assert {c["excluded_by"] for c in body["decision"]["candidates"]} == {"LAR-002"}


async def test_lar_007_overflow_to_backup_pool(client, auth):
    await start(client, auth.admin)
    team, _ = await city_with_rms(client, auth.admin, count=2, capacity=0)
    backup = await make_rm(client, auth.admin, team_id=team["id"], name="Backup", is_backup=True, localities=[])
    body = await allocated(client, auth.headers("SERVICE"))
    assert (body["allocation_type"], body["rm_id"]) == ("OVERFLOW", backup["id"])
    assert body["decision"]["outcome"] == "OVERFLOW"


async def test_lar_007_backup_not_used_while_a_regular_rm_is_free(client, auth):
    await start(client, auth.admin)
    team, rms = await city_with_rms(client, auth.admin, count=1, localities=[], zone="North")
    backup = await make_rm(client, auth.admin, team_id=team["id"], name="Backup", is_backup=True)
    body = await allocated(client, auth.headers("SERVICE"))
    assert (body["allocation_type"], body["rm_id"]) == ("AUTO", rms[0]["id"])
    fate = {c["rm_id"]: c.get("excluded_by") for c in body["decision"]["candidates"]}
    assert fate[backup["id"]] == "LAR-007"


async def test_lar_001_locality_then_zone_then_city_through_the_api(client, auth):
    await start(client, auth.admin)
    team = await make_team(client, auth.admin)
    city_rm = await make_rm(client, auth.admin, team_id=team["id"], name="City", zone="North", localities=[])
    zone_rm = await make_rm(client, auth.admin, team_id=team["id"], name="Zone", localities=["Jayanagar"])
    local = await make_rm(client, auth.admin, team_id=team["id"], name="Local", localities=["Koramangala"])
    mumbai = await make_rm(client, auth.admin, team_id=team["id"], name="Mumbai", city="Mumbai")
    service = auth.headers("SERVICE")
    first = await allocated(client, service)
    assert (first["rm_id"], first["decision"]["geo_level"]) == (local["id"], "LOCALITY")
    second = await allocated(client, service, locality="BTM Layout")
    assert (second["rm_id"], second["decision"]["geo_level"]) == (zone_rm["id"], "ZONE")
    fate = {c["rm_id"]: c.get("excluded_by") for c in second["decision"]["candidates"]}
    assert fate[city_rm["id"]] == "LAR-001" and mumbai["id"] not in fate
    third = await allocated(client, service, locality="Whitefield", zone="East")
    # At city level all three compete; the one without a lead today is furthest behind (LAR-004).
    assert (third["rm_id"], third["decision"]["geo_level"]) == (city_rm["id"], "CITY")


async def test_unavailable_rms_are_skipped(client, auth):
    """Availability: OFFLINE, INACTIVE and on-leave RMs receive nothing (LAR-003 skills likewise)."""
    await start(client, auth.admin)
    team = await make_team(client, auth.admin)
    offline = await make_rm(client, auth.admin, team_id=team["id"], name="Offline", availability="OFFLINE")
    inactive = await make_rm(client, auth.admin, team_id=team["id"], name="Inactive", status="INACTIVE")
    on_leave = await make_rm(client, auth.admin, team_id=team["id"], name="Leave")
    await make_leave(client, auth.admin, rm_id=on_leave["id"], start_date="2026-01-17", end_date="2026-01-18")
    unskilled = await make_rm(client, auth.admin, team_id=team["id"], name="Commercial",
                              property_types=["COMMERCIAL"])
    ok = await make_rm(client, auth.admin, team_id=team["id"], name="Available")
    body = await allocated(client, auth.headers("SERVICE"))
    assert body["rm_id"] == ok["id"]
    fate = {c["rm_id"]: c.get("excluded_by") for c in body["decision"]["candidates"]}
    assert fate == {offline["id"]: "AVAILABILITY", inactive["id"]: "AVAILABILITY", on_leave["id"]: "AVAILABILITY",
                    unskilled["id"]: "LAR-003", ok["id"]: None}


async def test_lar_002_capacity_through_the_api(client, auth):
    """LAR-002: an RM with capacity 1 gets one lead; the next goes elsewhere, then the lead queues."""
    await start(client, auth.admin)
    team, rms = await city_with_rms(client, auth.admin, count=2, capacity=1)
    service = auth.headers("SERVICE")
    first, second = await allocated(client, service), await allocated(client, service)
    assert {first["rm_id"], second["rm_id"]} == {rm["id"] for rm in rms}
    third = await allocate(client, service)
    assert third.status_code == 202, third.text
    assert {c["excluded_by"] for c in third.json()["decision"]["candidates"]} == {"LAR-002"}


# --- manual allocation ---------------------------------------------------------------------------------


async def test_supervisor_allocates_manually_to_own_team(client, auth):
    await start(client, auth.admin)
    team, rms = await city_with_rms(client, auth.admin, count=2)
    body = await allocated(client, auth.supervisor(uuid.UUID(team["id"])), rm_id=rms[1]["id"], reason="knows them")
    assert (body["allocation_type"], body["rm_id"], body["over_capacity"]) == ("MANUAL", rms[1]["id"], False)
    assert body["allocation_reason"] == "knows them"
    admin = await allocated(client, auth.admin, rm_id=rms[0]["id"])
    assert (admin["allocation_type"], admin["rm_id"]) == ("MANUAL", rms[0]["id"])


async def test_supervisor_cannot_allocate_to_another_team(client, auth, engine):
    await start(client, auth.admin)
    _, rms = await city_with_rms(client, auth.admin, count=1)
    other = await make_team(client, auth.admin)
    response = await allocate(client, auth.supervisor(uuid.UUID(other["id"])), rm_id=rms[0]["id"])
    assert_problem(response, 422, "validation_error", loc=["body", "rm_id"])
    assert (await row_counts(engine))["rm_allocations"] == 0


async def test_manual_to_full_rm_409_then_override_with_reason(client, auth, engine):
    """LAR-002 holds for manual allocations unless a supervisor overrides it with a reason."""
    await start(client, auth.admin)
    team, [rm] = await city_with_rms(client, auth.admin, count=1, capacity=1)
    supervisor = auth.supervisor(uuid.UUID(team["id"]))
    await allocated(client, supervisor, rm_id=rm["id"])
    before = await row_counts(engine)
    full = await allocate(client, supervisor, rm_id=rm["id"])
    assert_problem(full, 409, "rm_at_capacity")
    assert await row_counts(engine) == before
    no_reason = await allocate(client, supervisor, rm_id=rm["id"], override_capacity=True)
    assert no_reason.status_code == 422, no_reason.text
    over = await allocated(client, supervisor, rm_id=rm["id"], override_capacity=True, reason="VIP customer")
    assert (over["allocation_type"], over["over_capacity"]) == ("MANUAL", True)
    assert (await get_rm(client, auth.admin, rm["id"]))["active_leads"] == 2


# --- roles and bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["RM", "CUSTOMER", "FINANCE_ADMIN", "SUPPORT_AGENT", "PRODUCT_MANAGER"])
async def test_roles_that_may_not_allocate_403(client, auth, engine, role):
    await start(client, auth.admin)
    await city_with_rms(client, auth.admin, count=1)
    response = await allocate(client, auth.headers(role))
    assert_problem(response, 403, "forbidden")
    assert (await row_counts(engine))["leads"] == 0


async def test_service_may_not_name_the_rm_403(client, auth, engine):
    await start(client, auth.admin)
    _, [rm] = await city_with_rms(client, auth.admin, count=1)
    response = await allocate(client, auth.headers("SERVICE"), rm_id=rm["id"])
    assert_problem(response, 403, "forbidden")
    assert (await row_counts(engine))["leads"] == 0


async def test_no_token_401(client, auth):
    response = await client.post(f"{API}/allocations", json=lead_payload())
    assert_problem(response, 401, "not_authenticated")


@pytest.mark.parametrize(("change", "loc"), [
    ({"lead_id": None}, ["body", "lead_id"]),
    ({"lead_id": "not-a-uuid"}, ["body", "lead_id"]),
    ({"city": ""}, ["body", "city"]),
    ({"locality": None}, ["body", "locality"]),
    ({"property_type": "CASTLE"}, ["body", "property_type"]),
    ({"segment": "ALIEN"}, ["body", "segment"]),
    ({"source": "CARRIER_PIGEON"}, ["body", "source"]),
    ({"expected_deal_value": "lots"}, ["body", "expected_deal_value"]),
    ({"customer": {"email": "not-an-email"}}, ["body", "customer", "email"]),
    ({"rm_id": "nope"}, ["body", "rm_id"]),
    ({"surprise": 1}, ["body", "surprise"]),
], ids=["missing-lead-id", "bad-lead-id", "empty-city", "missing-locality", "bad-property-type", "bad-segment",
        "bad-source", "bad-deal-value", "bad-email", "bad-rm-id", "extra-field"])
async def test_malformed_payloads_422_name_the_field(client, auth, engine, change, loc):
    payload = lead_payload()
    for key, value in change.items():
        if value is None:
            payload.pop(key)
        else:
            payload[key] = value
    response = await client.post(f"{API}/allocations", json=payload, headers=auth.admin)
    assert_problem(response, 422, "validation_error", loc=loc)
    assert (await row_counts(engine))["leads"] == 0


async def test_first_allocation_of_a_lead_with_an_open_pipeline_hands_that_pipeline_over(client, auth, engine):
    """A walk-in an RM opened a pipeline for, then delivered for allocation: no second pipeline; the open one goes
    to the allocated RM (the engine tries its INSERT first for a first allocation: it does nothing here)."""
    await start(client, auth.admin)
    team, rms = await city_with_rms(client, auth.admin, count=1)
    walk_in = await make_rm(client, auth.admin, team_id=team["id"], name="Walk-in desk", city="Mumbai",
                            localities=["Andheri"])
    lead_id = str(uuid.uuid4())
    opened = await client.post(f"{API}/pipelines", json={"lead_id": lead_id, "rm_id": walk_in["id"],
                                                          "source": "WALK_IN"}, headers=auth.admin)
    assert opened.status_code == 201, opened.text
    allocation = await allocated(client, auth.headers("SERVICE"), lead_id=lead_id)
    assert (allocation["rm_id"], allocation["pipeline_id"]) == (rms[0]["id"], opened.json()["id"])
    pipeline = await get_pipeline(client, auth.admin, opened.json()["id"])
    assert (pipeline["rm_id"], pipeline["stage"]) == (rms[0]["id"], "NEW")
    assert (await row_counts(engine))["sales_pipelines"] == 1
