"""/api/v1/sales/allocations (PRD §7.2): allocate, respond, reassign, queue, workload, rules, simulate."""
from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Query

from sales.allocation import fairness as fairness_ledger, reads, ruleset, service
from sales.allocation.enums import AllocationStatus, AllocationType, DecidedBy
from sales.allocation.permissions import (AllocationsCreate, AllocationsManage, AllocationsRead, AllocationsRespond,
                                          RulesAdmin, WorkloadRead)
from sales.allocation.schemas import (AllocationRead, BulkReassignRequest, BulkReassignResult, FairnessRead,
                                      LeadAllocationRequest, QueueItem, QueuedLead, QueuedReassignment,
                                      ReassignRequest, ReassignResult, RejectRequest, RejectResult, RuleSetChange, RuleSetRead, SimulationRequest, SimulationResult)
from sales.allocation.schemas import WorkloadRead as WorkloadReadModel
from sales.core.fields import Date, Text, UTCDatetime, bounded_query_integer
from sales.core.openapi import problem_response
from sales.core.http import CityFilter, Conn, Now, Page, Paging, make_router, page_of, respond

router = make_router(tags=["allocations"])


@router.post("", status_code=201, response_model=AllocationRead,
             responses={200: {"model": AllocationRead, "description": "the lead's existing live allocation"},
                        202: {"model": QueuedLead, "description": "nobody can take the lead now; queued"}})
async def allocate(request: LeadAllocationRequest, principal: AllocationsCreate, conn: Conn, now: Now):
    """Allocate a lead: to the engine's choice, or to `rm_id` (manual); queued (202) if nobody can take it."""
    outcome = await service.allocate_lead(conn, principal, request=request, now=now)
    return respond(outcome.body, outcome.status_code)


# The RM's queue (a hot read) is matched right after the intake (issue 19: routes are matched in order).
@router.get("/rm/{rm_id}/queue", response_model=Page[QueueItem])
async def rm_queue(rm_id: UUID, principal: AllocationsRead, conn: Conn, now: Now):
    """An RM's live leads by priority, then SLA deadline."""
    items = await reads.rm_queue(conn, principal, rm_id=rm_id, now=now, wire=True)
    return respond({"items": items, "next_cursor": None})


@router.get("", response_model=Page[AllocationRead])
async def list_allocations(principal: AllocationsRead, conn: Conn, paging: Paging, rm_id: UUID | None = None,
                           team_id: UUID | None = None, city: CityFilter = None,
                           status: AllocationStatus | None = None, allocation_type: AllocationType | None = None,
                           decided_by: DecidedBy | None = None, lead_id: UUID | None = None,
                           from_: Annotated[UTCDatetime | None, Query(alias="from")] = None,
                           to: UTCDatetime | None = None):
    """Allocations in the caller's scope, newest first."""
    filters = {"rm_id": rm_id, "team_id": team_id, "city": city, "status": status.value if status else None,
               "allocation_type": allocation_type.value if allocation_type else None,
               "decided_by": decided_by.value if decided_by else None, "lead_id": lead_id,
               "from": from_, "to": to}
    items = await service.list_allocations(conn, principal, filters=filters, limit=paging.limit,
                                           cursor=paging.cursor)
    return respond(page_of(items, paging.limit, lambda a: (a.allocated_at.isoformat(), a.id)))


@router.get("/workload", response_model=WorkloadReadModel)
async def workload(principal: WorkloadRead, conn: Conn, now: Now, team_id: UUID | None = None,
                   city: CityFilter = None):
    """Team workload: per RM, team and city, with today's distribution and queue-depth alerts."""
    return respond(await reads.workload(conn, principal, now=now, team_id=team_id, city=city))


@router.get("/fairness", response_model=FairnessRead,
            responses={404: problem_response("team_id names no team in the caller's scope")})
async def fairness(principal: WorkloadRead, conn: Conn, now: Now, team_id: UUID | None = None,
                   city: CityFilter = None,
                   from_: Annotated[UTCDatetime | Date | None, Query(alias="from")] = None,
                   to: UTCDatetime | Date | None = None):
    """Fairness ledger (issue 17): per RM, leads received from `from` to `to` inclusive (timestamps, or dates: whole
    days in the city's time zone; default: today so far),
    the expected share from weights, availability and caps at each decision, the deficit, and the CV among
    comparable RMs."""
    ledger = await fairness_ledger.ledger(conn, principal, team_id=team_id, city=city, from_=from_, to=to, now=now)
    return respond(ledger.model_dump(mode="python", by_alias=True))


@router.get("/queued", response_model=Page[QueuedLead])
async def queued_leads(principal: WorkloadRead, conn: Conn, city: CityFilter = None,
                       limit: Annotated[bounded_query_integer(ge=1, le=500), Query()] = 100):
    """Leads waiting for capacity (LAR-007), highest priority then oldest, for the caller's cities."""
    items = await reads.list_queued_leads(conn, principal, city=city, limit=limit)
    return respond({"items": items, "next_cursor": None})


@router.get("/rules", response_model=RuleSetRead)
async def get_rules(principal: AllocationsManage, conn: Conn,
                    city: Annotated[Text, Query(min_length=1, max_length=100)] = "*"):
    """The effective rules of a city ('*' = the default for every city without its own)."""
    return respond(await ruleset.get_rules(conn, city=city))


@router.put("/rules", response_model=RuleSetRead)
async def put_rules(change: RuleSetChange, principal: RulesAdmin, conn: Conn, now: Now):
    """Save a new version of a city's rules; omitted keys keep their current values."""
    return respond(await ruleset.put_rules(conn, principal, change=change, now=now))


@router.post("/simulate", response_model=SimulationResult)
async def simulate(request: SimulationRequest, principal: AllocationsManage, conn: Conn, now: Now):
    """Replay leads (given, or those of a date range) under current or proposed rules; writes nothing."""
    return respond(await ruleset.simulate(conn, principal, request=request, now=now))


@router.post("/bulk-reassign", response_model=BulkReassignResult)
async def bulk_reassign(data: BulkReassignRequest, principal: AllocationsManage, conn: Conn, now: Now):
    """Reassign several live allocations at once: all or nothing, with a result per allocation."""
    return respond(await service.bulk_reassign(conn, principal, data=data, now=now))


@router.get("/{allocation_id}", response_model=AllocationRead)
async def get_allocation(allocation_id: UUID, principal: AllocationsRead, conn: Conn):
    """One allocation with the engine's decision trace."""
    return respond(await service.get_allocation(conn, principal, allocation_id=allocation_id))


@router.patch("/{allocation_id}/accept", response_model=AllocationRead)
async def accept(allocation_id: UUID, principal: AllocationsRespond, conn: Conn, now: Now):
    """The assigned RM accepts the lead."""
    return respond(await service.accept(conn, principal, allocation_id=allocation_id, now=now))


@router.patch("/{allocation_id}/reject", response_model=RejectResult)
async def reject(allocation_id: UUID, data: RejectRequest, principal: AllocationsRespond, conn: Conn, now: Now):
    """The assigned RM rejects the lead with a reason; it is reallocated at once to someone else."""
    moved = await service.reject(conn, principal, allocation_id=allocation_id, reason=data.reason, now=now)
    return respond(RejectResult(**moved.previous.model_dump(), next_allocation=moved.allocation,
                                queued=moved.queued))


@router.post("/{allocation_id}/reassign", response_model=ReassignResult,
             responses={202: {"model": QueuedReassignment, "description": "nobody else can take it; queued"}})
async def reassign(allocation_id: UUID, data: ReassignRequest, principal: AllocationsManage, conn: Conn, now: Now):
    """Move a live lead to `to_rm_id`, or to the engine's next choice; answers with the new allocation."""
    moved = await service.reassign(conn, principal, allocation_id=allocation_id, data=data, now=now)
    if moved.allocation is None:
        return respond(QueuedReassignment(**moved.queued.model_dump(), previous=moved.previous), 202)
    return respond(ReassignResult(**moved.allocation.model_dump(), previous=moved.previous))
