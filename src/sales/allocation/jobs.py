"""Periodic allocation work: the SLA sweep (LAR-006), the overflow retry (LAR-007), leave starts and rebalancing
(issue 17).

Both are safe with several workers: rows are claimed with FOR UPDATE SKIP LOCKED on PostgreSQL.
"""
from __future__ import annotations

import functools
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from sales.allocation import notices, rebalance as rebalancing, repository, rules, service
from sales.allocation.enums import AllocationStatus
from sales.core import audit, outbox
from sales.core.jobs import JobFn, job
from sales.leads import repository as leads_repository

BATCH = 200
# Each expiry is a whole reallocation (the engine, ~35 statements, row locks on the lead and both RMs): a batch is
# one short transaction, and the worker runs the next batch at once while batches come back full (`again`), up to
# BATCH expiries per slot as before, so the RM and lead locks the API's allocations wait on are held for one
# batch, not for the whole slot (issue 19: 44-60 s at x10 under load for 200 expiries).
SWEEP_BATCH = 25


def _audit_chained_last(fn: JobFn) -> JobFn:
    """A job that places several leads in one transaction, with its audit rows chained at its end
    (`audit.deferred`): the audit partition's lock is then the last its transaction takes, after every RM's and
    lead's, as in a request. Taken at the first lead's audit row, it deadlocked with an allocation that held the
    next lead's RM and waited on the partition (issue 19: the SLA sweep, in the 500-user mix). None of these jobs
    rolls a savepoint back after recording an audit row (the rows kept are written at the end)."""
    @functools.wraps(fn)
    async def run(conn: AsyncConnection, now: datetime) -> dict[str, Any]:
        async with audit.deferred(conn):
            return await fn(conn, now)

    return run


@job("sla-sweep", every=30, again=lambda result: result["processed"] >= SWEEP_BATCH,
     max_batches=BATCH // SWEEP_BATCH)
@_audit_chained_last
async def sla_sweep(conn: AsyncConnection, now: datetime) -> dict[str, Any]:
    """LAR-006: unactioned allocations past their deadline expire and the lead moves to another RM; the Nth
    breach on a lead (max_sla_breaches) escalates it to the team's supervisor instead."""
    due = await repository.sla_due(conn, now=now, limit=SWEEP_BATCH)
    reallocated = escalated = queued = 0
    for row in due:
        lead = await leads_repository.get(conn, row.lead_id, for_update=True)
        config, _, _ = await service.rules_for(conn, lead.city or "")
        breaches = (lead.sla_breaches or 0) + 1
        await leads_repository.update_lead(conn, lead.id, {"sla_breaches": breaches}, now=now)
        if rules.breach_outcome(breaches - 1, config) == "ESCALATE":
            await repository.update_allocation(conn, row.id, {"status": AllocationStatus.ESCALATED.value,
                                                              "updated_at": now})
            await leads_repository.update_lead(conn, lead.id, {"allocation_status": "ESCALATED"}, now=now)
            await repository.clear_queue_alerts(conn, rm_id=row.rm_id, team_id=row.team_id, now=now)
            await outbox.record(conn, type_="sales.lead.escalated", subject=lead.id, at=now, data={
                "allocation_id": row.id, "lead_id": lead.id, "rm_id": row.rm_id, "team_id": row.team_id,
                "sla_breaches": breaches, "reason": "SLA_BREACH"})
            await notices.lead_escalated(conn, row=row, lead=lead, sla_breaches=breaches, now=now)  # LAR-006
            await audit.record(conn, None, action="allocation.escalated", entity_type="allocation",
                               entity_id=row.id, at=now, before={"status": row.status},
                               after={"status": AllocationStatus.ESCALATED, "sla_breaches": breaches})
            escalated += 1
            continue
        moved = await service.move_lead(conn, None, row, now=now, status=AllocationStatus.EXPIRED,
                                         reassignment_reason="SLA_BREACH", audit_action="allocation.expired")
        if moved.allocation is not None:
            reallocated += 1
        else:
            queued += 1
    return {"processed": len(due), "reallocated": reallocated, "escalated": escalated, "queued": queued}


@job("overflow-retry", every=60)
@_audit_chained_last
async def overflow_retry(conn: AsyncConnection, now: datetime) -> dict[str, Any]:
    """LAR-007: queued leads, highest priority then oldest, get another try as capacity frees up."""
    waiting = await repository.queued_leads(conn, limit=BATCH, lock=True)
    allocated = 0
    for lead in waiting:
        outcome = await service.route_queued(conn, lead=lead, now=now)
        if outcome.allocation is not None:
            allocated += 1
    return {"processed": len(waiting), "allocated": allocated, "still_queued": len(waiting) - allocated}


@job("leave-start", every=300)
@_audit_chained_last
async def leave_start(conn: AsyncConnection, now: datetime) -> dict[str, Any]:
    """Issue 17: once an RM's leave has started (in their city's time zone), the leads allocated to them before
    it started and still unacted go back through the engine with reason RM_UNAVAILABLE; the supervisor is told.
    A lead a supervisor placed with them during the leave (after it started and was recorded) stays."""
    rows = await repository.on_leave_with_pending(conn, around=now.date(), limit=BATCH)
    moved = 0
    for row in rows:
        config, _, _ = await service.rules_for(conn, row.city)
        _, start, _ = service.day_bounds(datetime.combine(row.start_date, time(12), tzinfo=ZoneInfo(config.timezone)),
                                         config.timezone)
        moved += await service.reallocate_pending(conn, principal=None, rm_id=row.id, team_id=row.team_id,
                                                  city=row.city, why="LEAVE", now=now,
                                                  leave=(row.start_date, row.end_date),
                                                  allocated_before=max(start, row.leave_recorded_at))
    return {"rms": len({row.id for row in rows}), "reallocated_or_queued": moved}


@job("rebalance", every=600)
async def rebalance(conn: AsyncConnection, now: datetime) -> dict[str, Any]:
    """Issue 17, PRD §11.3: in every city whose rules enable it, move PENDING leads from the most to the least
    loaded comparable RMs of each team until its spread is under `rebalance.max_cv` (see allocation/rebalance.py)."""
    teams = moved = 0
    for city in await repository.cities_with_teams(conn):
        result = await rebalancing.rebalance_city(conn, city, now=now)
        teams, moved = teams + result["teams"], moved + result["moved"]
    return {"processed": teams, "moved": moved}

