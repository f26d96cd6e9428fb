"""LAR-006 SLA sweep (expiry, reallocation, escalation) and LAR-007 overflow retry, driven by the test clock;
capacity freed by closing pipelines; the reassignment events."""
from __future__ import annotations

import uuid

from sqlalchemy import event, select

from sales.allocation.models import allocation_queue_alerts
from tests.allocation_builders import advance, allocate, city_with_rms, run_job
from tests.api.allocation.helpers import (active_leads, allocated, event_data, get_allocation, get_pipeline,
                                          live_of_lead, start)
from tests.builders import API, move
from tests.events_schema import assert_outbox_valid

SLA = 2 * 3600


async def test_lar_006_sla_expiry_reallocates_and_moves_the_pipeline(client, auth, engine):
    await start(client, auth.admin)
    _, rms = await city_with_rms(client, auth.admin, count=2)
    a = await allocated(client, auth.headers("SERVICE"))
    await advance(client, auth.admin, SLA - 1)
    assert (await run_job(client, auth.admin, "sla-sweep"))["processed"] == 0  # not yet due
    await advance(client, auth.admin, 1)
    sweep = await run_job(client, auth.admin, "sla-sweep")
    assert (sweep["job"], sweep["processed"], sweep["reallocated"], sweep["escalated"]) == ("sla-sweep", 1, 1, 0)

    old = await get_allocation(client, auth.admin, a["id"])
    assert old["status"] == "EXPIRED"
    [new] = await live_of_lead(client, auth.admin, a["lead_id"])
    assert new["rm_id"] != a["rm_id"]
    assert (new["is_reassignment"], new["previous_rm_id"], new["reassignment_reason"]) == (
        True, a["rm_id"], "SLA_BREACH")
    assert new["allocated_at"] == "2026-01-17T12:30:00Z" and new["sla_deadline"] == "2026-01-17T14:30:00Z"
    pipeline = await get_pipeline(client, auth.admin, a["pipeline_id"])
    assert (pipeline["rm_id"], pipeline["stage"]) == (new["rm_id"], "NEW")
    load = await active_leads(engine)
    assert (load[a["rm_id"]], load[new["rm_id"]]) == (0, 1)
    [moved] = await event_data(engine, "sales.lead.reassigned")
    assert (moved["allocation_id"], moved["lead_id"], moved["from_rm_id"], moved["to_rm_id"], moved["reason"]) == (
        new["id"], a["lead_id"], a["rm_id"], new["rm_id"], "SLA_BREACH")
    assert [e["allocation_id"] for e in await event_data(engine, "sales.lead.allocated")] == [a["id"], new["id"]]
    async with engine.connect() as conn:
        assert await assert_outbox_valid(conn) >= 4


async def test_lar_006_second_breach_escalates(client, auth, engine):
    await start(client, auth.admin)
    team, rms = await city_with_rms(client, auth.admin, count=3)
    a = await allocated(client, auth.headers("SERVICE"))
    await advance(client, auth.admin, SLA)
    assert (await run_job(client, auth.admin, "sla-sweep"))["reallocated"] == 1
    [second] = await live_of_lead(client, auth.admin, a["lead_id"])
    await advance(client, auth.admin, SLA)
    sweep = await run_job(client, auth.admin, "sla-sweep")
    assert (sweep["processed"], sweep["reallocated"], sweep["escalated"]) == (1, 0, 1)
    [live] = await live_of_lead(client, auth.admin, a["lead_id"])
    assert (live["id"], live["status"], live["rm_id"]) == (second["id"], "ESCALATED", second["rm_id"])
    [escalated] = await event_data(engine, "sales.lead.escalated")
    assert (escalated["allocation_id"], escalated["lead_id"], escalated["rm_id"], escalated["sla_breaches"]) == (
        second["id"], a["lead_id"], second["rm_id"], 2)
    assert escalated["team_id"] == team["id"]
    # Escalated leads stay with the RM, keep their capacity and are not swept again.
    assert (await active_leads(engine))[second["rm_id"]] == 1
    await advance(client, auth.admin, SLA)
    assert (await run_job(client, auth.admin, "sla-sweep"))["processed"] == 0


async def test_lar_006_escalation_threshold_follows_the_rules(client, auth):
    await start(client, auth.admin)
    put = await client.put(f"{API}/allocations/rules", json={"city": "Bangalore", "rules": {
        "max_sla_breaches": 1, "sla_minutes": 30}}, headers=auth.admin)
    assert put.status_code == 200, put.text
    await city_with_rms(client, auth.admin, count=2)
    a = await allocated(client, auth.headers("SERVICE"))
    assert a["sla_deadline"] == "2026-01-17T11:00:00Z"
    await advance(client, auth.admin, 1800)
    assert (await run_job(client, auth.admin, "sla-sweep"))["escalated"] == 1
    assert (await get_allocation(client, auth.admin, a["id"]))["status"] == "ESCALATED"


async def test_lar_006_accepted_or_actioned_allocations_never_expire(client, auth):
    await start(client, auth.admin)
    _, rms = await city_with_rms(client, auth.admin, count=3)
    service = auth.headers("SERVICE")
    accepted, actioned, idle = [await allocated(client, service) for _ in range(3)]
    await advance(client, auth.admin, 300)
    ok = await client.patch(f"{API}/allocations/{accepted['id']}/accept",
                            headers=auth.rm(uuid.UUID(accepted["rm_id"])))
    assert ok.status_code == 200, ok.text
    moved = await move(client, auth.rm(uuid.UUID(actioned["rm_id"])), actioned["pipeline_id"], "CONTACTED")
    assert moved.status_code == 200, moved.text
    after = await get_allocation(client, auth.admin, actioned["id"])
    assert (after["status"], after["first_action_at"]) == ("ACTIVE", "2026-01-17T10:35:00Z")
    await advance(client, auth.admin, 3 * SLA)
    sweep = await run_job(client, auth.admin, "sla-sweep")
    assert (sweep["processed"], sweep["reallocated"]) == (1, 1)
    assert (await get_allocation(client, auth.admin, accepted["id"]))["status"] == "ACCEPTED"
    assert (await get_allocation(client, auth.admin, actioned["id"]))["status"] == "ACTIVE"
    assert (await get_allocation(client, auth.admin, idle["id"]))["status"] == "EXPIRED"


async def test_closing_the_pipeline_completes_the_allocation_and_frees_capacity(client, auth, engine):
    await start(client, auth.admin)
    _, [rm] = await city_with_rms(client, auth.admin, count=1, capacity=1)
    a = await allocated(client, auth.headers("SERVICE"))
    assert (await active_leads(engine))[rm["id"]] == 1
    closed = await move(client, auth.rm(uuid.UUID(rm["id"])), a["pipeline_id"], "CLOSED_WON")
    assert closed.status_code == 200, closed.text
    done = await get_allocation(client, auth.admin, a["id"])
    assert (done["status"], done["first_action_at"]) == ("COMPLETED", "2026-01-17T10:30:00Z")
    assert (await active_leads(engine))[rm["id"]] == 0
    assert await live_of_lead(client, auth.admin, a["lead_id"]) == []


async def test_lar_006_the_holders_first_action_turns_its_queue_alert_off(client, auth, engine):
    """The stage change marks the PENDING allocation ACTIVE in the statement that finds it; the RM's queue alert
    (raised at depth 2 over threshold 1) is cleared; the RM's other allocation stays PENDING."""
    await start(client, auth.admin)
    put = await client.put(f"{API}/allocations/rules", json={"rules": {"queue_depth_alert": 1}}, headers=auth.admin)
    assert put.status_code == 200, put.text
    _, [rm] = await city_with_rms(client, auth.admin, count=1)
    service = auth.headers("SERVICE")
    first, second = await allocated(client, service), await allocated(client, service)
    assert await _alerts(engine) == {f"rm:{rm['id']}": (True, 2)}
    moved = await move(client, auth.rm(uuid.UUID(rm["id"])), first["pipeline_id"], "CONTACTED")
    assert moved.status_code == 200, moved.text
    acted = await get_allocation(client, auth.admin, first["id"])
    assert (acted["status"], acted["accepted_at"], acted["first_action_at"]) == (
        "ACTIVE", "2026-01-17T10:30:00Z", "2026-01-17T10:30:00Z")
    assert await _alerts(engine) == {f"rm:{rm['id']}": (False, 1)}
    assert (await get_allocation(client, auth.admin, second["id"]))["status"] == "PENDING"


async def test_lar_006_on_postgres_the_stage_changes_own_statement_acts_on_the_allocation(client, auth, engine,
                                                                                            backend):
    """Issue 19: the allocation's write rides with the pipeline's change (a hooks.Ride): a later move is 3
    statements on PostgreSQL (the pipeline locked, the change with the allocation's, the audit rows), the same
    outcome as the hook's own statement on SQLite."""
    await start(client, auth.admin)
    _, [rm] = await city_with_rms(client, auth.admin, count=1)
    a = await allocated(client, auth.headers("SERVICE"))
    rm_headers = auth.rm(uuid.UUID(rm["id"]))
    assert (await move(client, rm_headers, a["pipeline_id"], "CONTACTED")).status_code == 200
    await advance(client, auth.admin, 60)
    sent: list[str] = []

    def count(_conn, _cursor, statement, *_):  # type: ignore[no-untyped-def]
        if "FROM clock_state" not in statement:  # the tests' frozen business clock
            sent.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        moved = await move(client, rm_headers, a["pipeline_id"], "REQUIREMENTS_CAPTURED")
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)
    assert moved.status_code == 200, moved.text
    after = await get_allocation(client, auth.admin, a["id"])
    assert (after["status"], after["first_action_at"], after["updated_at"]) == (
        "ACTIVE", "2026-01-17T10:30:00Z", "2026-01-17T10:31:00Z")
    if backend == "postgres":
        assert len(sent) == 3, sent
        [carrier] = [s for s in sent if "UPDATE rm_allocations" in s]
        assert "INSERT INTO pipeline_stage_history" in carrier


async def _alerts(engine) -> dict[str, tuple[bool, int]]:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(allocation_queue_alerts))).all()
    return {r.key: (bool(r.over), r.depth) for r in rows if r.key.startswith("rm:")}


async def test_lar_007_overflow_retry_by_priority_then_age(client, auth, engine):
    await start(client, auth.admin)
    _, [rm] = await city_with_rms(client, auth.admin, count=1, capacity=1)
    rm_headers = auth.rm(uuid.UUID(rm["id"]))
    service = auth.headers("SERVICE")
    first = await allocated(client, service)
    queued = []
    for overrides in ({"source": "WEBSITE"}, {"segment": "BUYER"}, {"source": "WEBSITE"}):  # priority 3, 5, 3
        await advance(client, auth.admin, 60)
        response = await allocate(client, service, **overrides)
        assert response.status_code == 202, response.text
        queued.append(response.json()["lead_id"])
    nothing = await run_job(client, auth.admin, "overflow-retry")
    assert (nothing["processed"], nothing["allocated"], nothing["still_queued"]) == (3, 0, 3)

    order = []
    pipeline = first["pipeline_id"]
    for _ in range(3):
        assert (await move(client, rm_headers, pipeline, "CLOSED_WON")).status_code == 200
        retry = await run_job(client, auth.admin, "overflow-retry")
        assert retry["allocated"] == 1, retry
        [live] = [a for a in (await client.get(f"{API}/allocations", params={"status": "PENDING"},
                                               headers=auth.admin)).json()["items"]]
        order.append(live["lead_id"])
        pipeline = live["pipeline_id"]
        assert live["rm_id"] == rm["id"] and live["is_reassignment"] is False
        assert (await get_pipeline(client, auth.admin, pipeline))["stage"] == "NEW"
    assert order == [queued[1], queued[0], queued[2]]
    final = await run_job(client, auth.admin, "overflow-retry")
    assert final["processed"] == 0


async def test_lar_007_queued_lead_reposted_stays_queued_once(client, auth, engine):
    await start(client, auth.admin)
    await city_with_rms(client, auth.admin, count=1, capacity=0)
    from tests.allocation_builders import lead_payload
    payload = lead_payload()
    for _ in range(2):
        response = await client.post(f"{API}/allocations", json=payload, headers=auth.headers("SERVICE"))
        assert response.status_code == 202, response.text
    assert len(await event_data(engine, "sales.lead.queued")) == 1


async def test_jobs_need_sales_admin(client, auth):
    for role in ("SUPERVISOR", "SERVICE", "RM"):
        response = await client.post(f"{API}/admin/jobs/sla-sweep/run", headers=auth.headers(role))
        assert response.status_code == 403, response.text


async def test_lar_007_rejected_then_queued_lead_goes_to_a_new_rm_on_retry(client, auth, engine):
    """A lead its only RM rejected waits in the queue; a new RM later gets it (never the rejecter)."""
    await start(client, auth.admin)
    team, [rm] = await city_with_rms(client, auth.admin, count=1)
    a = await allocated(client, auth.headers("SERVICE"))
    rejected = await client.patch(f"{API}/allocations/{a['id']}/reject", json={"reason": "busy"},
                                  headers=auth.rm(uuid.UUID(rm["id"])))
    assert rejected.json()["queued"]["status"] == "QUEUED"
    assert (await run_job(client, auth.admin, "overflow-retry"))["allocated"] == 0
    from tests.builders import make_rm
    newcomer = await make_rm(client, auth.admin, team_id=team["id"], name="Newcomer")
    retry = await run_job(client, auth.admin, "overflow-retry")
    assert retry["allocated"] == 1
    [live] = await live_of_lead(client, auth.admin, a["lead_id"])
    assert live["rm_id"] == newcomer["id"] and live["pipeline_id"] == a["pipeline_id"]
    assert (await get_pipeline(client, auth.admin, a["pipeline_id"]))["rm_id"] == newcomer["id"]
    async with engine.connect() as conn:
        await assert_outbox_valid(conn)
