"""Allocation use cases: load inputs -> engine (rules.py) -> claim capacity -> persist, events, audit.

Never commits: the request or job's unit of work does. A crash between choosing and committing leaves
nothing behind, because the capacity claim, allocation, pipeline, lead state, outbox and audit rows all
belong to one transaction.
"""
from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from sales.allocation import inheritance, notices, repository, rules
from sales.allocation.config import DEFAULT_RULES, AllocationRules
from sales.allocation.enums import LIVE_STATUSES, AllocationStatus, AllocationType
from sales.allocation.errors import AllocationNotFound, AllocationNotLive, BulkReassignFailed, RMAtCapacity
from sales.allocation.schemas import (AllocationRead, BulkItemResult, BulkReassignRequest, BulkReassignResult,
                                      LeadAllocationRequest, QueuedLead, Reallocation, ReassignRequest)
from sales.core import audit, hooks, outbox
from sales.core.auth import Principal, Role
from sales.core.db import is_postgres
from sales.core.errors import Forbidden, InvalidInput, SalesError
from sales.core.http import AFTER_TIME_AND_ID, cursor_after
from sales.directory import repository as directory_repository, service as directory_service
from sales.leads import repository as leads_repository
from sales.leads.errors import LeadNotFound
from sales.pipelines import service as pipelines_service
from sales.pipelines.enums import Source, Stage
from sales.pipelines.errors import LeadHasOpenPipeline
from sales.pipelines.schemas import PipelineCreate

LIVE = {s.value for s in LIVE_STATUSES}


@dataclass
class AllocationOutcome:
    """201 with a new allocation, 200 with the lead's existing live allocation, or 202 queued."""
    status_code: int
    allocation: AllocationRead | None = None
    queued: QueuedLead | None = None

    @property
    def body(self) -> AllocationRead | QueuedLead:
        return self.allocation if self.allocation is not None else self.queued  # type: ignore[return-value]


def _read(row: Any, **values: Any) -> AllocationRead:
    return AllocationRead.model_validate({**row._mapping, **values} if values else row._mapping)


def _engine_actor(principal: Principal | None) -> Principal:
    """Side effects in other domains (pipelines) are done by the engine on the caller's behalf."""
    return Principal(sub=principal.sub if principal else uuid.UUID(int=0), roles=frozenset({Role.SERVICE}),
                     name="allocation-engine")


# --- rules -------------------------------------------------------------------------------------

# The effective rules per normalised city as last read by this process, keyed by the ids of the rule set rows they
# came from (a row id is never reused, a version number could be after a rolled-back change). Only the engine's
# hot path (`_route`) uses an entry, and only after the candidates statement of its own transaction has returned
# the same ids as current; every `rules_for` call reads the rules and refreshes the entry.
_RulesEntry = tuple[repository.RuleSetIds, tuple[AllocationRules, int, bool]]
_rules_cache: dict[str, _RulesEntry] = {}
_RULES_CACHE_SIZE = 1024


class _RulesChanged(Exception):
    """The cached rules of a city are no longer current (raised before anything is written)."""


# Effective rules by the ids of the rule set rows they combine ((default '*', the city's own)). A rule set row is
# never edited (a change inserts a new row), so an entry never goes stale and every process agrees with the
# database without invalidation: the engine and the workload read use it.
_EFFECTIVE: dict[tuple[UUID | None, UUID | None], AllocationRules] = {}
_EFFECTIVE_SIZE = 4096


def combined_rules(star_id: UUID | None, own_id: UUID | None) -> AllocationRules | None:
    """The effective rules of these two rule set rows if this process has combined them already."""
    return DEFAULT_RULES if star_id is None and own_id is None else _EFFECTIVE.get((star_id, own_id))


def combine_rules(star_id: UUID | None, star_config: Any, own_id: UUID | None, own_config: Any) -> AllocationRules:
    """The city's own rules over the default '*' (issue 17), kept by the rows' ids."""
    found = combined_rules(star_id, own_id)
    if found is None:
        if len(_EFFECTIVE) >= _EFFECTIVE_SIZE:
            _EFFECTIVE.clear()
        found = _EFFECTIVE[star_id, own_id] = inheritance.effective(star_config, own_config)
    return found


async def rules_for(conn: AsyncConnection, city: str) -> tuple[AllocationRules, int, bool]:
    """The city's effective rules (its overrides over the default '*', issue 17), the version of the city's own rules
    (of the default's when it has none), and whether the city has no rules of its own."""
    key = rules.norm(city)
    own, star = await repository.rule_sets_of(conn, key)
    if own is None and star is None:
        result = DEFAULT_RULES, 0, True
    else:
        config = combine_rules(star.id if star else None, star.config if star else None,
                               own.id if own else None, own.config if own else None)
        result = config, (own or star).version, own is None
    if key != "*":
        if len(_rules_cache) >= _RULES_CACHE_SIZE:
            _rules_cache.clear()
        _rules_cache[key] = ((own.id if own else None, star.id if star else None), result)
    return result


def forget_rules() -> None:
    """A rule set changed (PUT /allocations/rules): this process reads the rules again. Other processes find out
    through the id check of `_route`."""
    _rules_cache.clear()


def _lead_facts(lead: Any) -> rules.Lead:
    return rules.Lead(lead_id=lead.id, city=lead.city, zone=lead.zone, locality=lead.locality,
                      property_type=lead.property_type, segment=lead.segment,
                      expected_deal_value=lead.expected_deal_value, priority=lead.priority or 1)


# --- the engine around the database ------------------------------------------------------------

async def _decide_and_claim(conn: AsyncConnection, lead: rules.Lead, config: AllocationRules, now: datetime, *,
                            exclude: frozenset[UUID], rule_sets: repository.RuleSetIds | None = None,
                            defer_claim: bool = False
                            ) -> tuple[rules.Decision, dict[UUID, rules.Candidate], repository.Claim | None]:
    """Run the engine on the locality's RMs first, then the whole city; take capacity in rank order with a
    conditional update so concurrent allocations can never overfill an RM (LAR-002). With `rule_sets` (the ids
    `config` was read from, cached) the first candidates statement checks them: `_RulesChanged` when they are
    no longer current, before anything is written.

    With `defer_claim` the first choice's claim is not taken here but returned, for the allocation's INSERT to
    take (`repository.insert_allocation`) while the RM's row is as ranked; when it is not, the caller decides
    again without."""
    today = rules.local_time(now, config.timezone).date()
    stages = ["LOCALITY", "CITY"] if "LOCALITY" in config.geographic_widening and lead.locality else ["CITY"]
    inputs = rules.ranking_inputs(lead, config, now, exclude=exclude)
    decision = rules.Decision(outcome="QUEUED", rm_id=None, geo_level=None, reason="no candidates")
    by_id: dict[UUID, rules.Candidate] = {}
    for stage in stages:
        ranked = await repository.ranked_candidates(conn, city=lead.city, inputs=inputs,
                                                    in_locality=stage == "LOCALITY")
        # Checked with the first stage whose candidate rows carry the ids: a stage without candidates decides
        # nothing (the next one runs) and writes nothing, so only when the last has none either are they read.
        if rule_sets is not None and (ranked.rule_sets is not None or stage == stages[-1]):
            current = ranked.rule_sets
            if current is None:
                own, star = await repository.rule_sets_of(conn, rules.norm(lead.city))
                current = (own.id if own else None, star.id if star else None)
            if current != rule_sets:
                raise _RulesChanged(lead.city)
            rule_sets = None
        by_id = {c.id: c for c in ranked.candidates}
        decision = rules.decide(lead, ranked.candidates, config, now, exclude=exclude, counts=ranked.counts)
        if stage == "LOCALITY" and not (decision.outcome == "ALLOCATED" and decision.geo_level == "LOCALITY"):
            continue
        lost = []
        for rm_id in decision.ranking:
            daily_cap, weekly_cap = rules.caps(by_id[rm_id], config)
            if defer_claim:
                _note_races(decision, lost, winner=rm_id)
                seen = by_id[rm_id]
                return decision, by_id, repository.Claim(rm_id, today, now, daily_cap, weekly_cap,
                                                         seen.active_leads, seen.last_allocated_at)
            if await repository.claim_capacity(conn, rm_id, today=today, now=now, daily_cap=daily_cap,
                                               weekly_cap=weekly_cap):
                _note_races(decision, lost, winner=rm_id)
                return decision, by_id, None
            lost.append(rm_id)
        _note_races(decision, lost, winner=None)
    if decision.outcome != "QUEUED":
        decision.outcome, decision.rm_id = "QUEUED", None
        decision.reason = "every eligible RM reached capacity concurrently (LAR-002); lead queued"
    return decision, by_id, None


def _note_races(decision: rules.Decision, lost: list[UUID], *, winner: UUID | None) -> None:
    for rm_id in lost:
        decision.lost_race(rm_id)
    lost_ids = {str(rm_id) for rm_id in lost}  # the trace names RMs as text: compared as text (issue 19)
    winner_id = str(winner) if winner is not None else None
    for entry in decision.candidates:
        if entry["rm_id"] in lost_ids:
            entry.update(winner=False, eligible=False, excluded_by="LAR-002",
                         why="capacity or a daily/weekly cap taken by a concurrent allocation before this one "
                             "committed")
        elif winner_id is not None:
            entry["winner"] = entry["rm_id"] == winner_id
    decision.rm_id = winner


async def _create_allocation(conn: AsyncConnection, principal: Principal | None, *, lead: Any, rm_id: UUID,
                             team_id: UUID | None, allocation_type: AllocationType, reason: str, now: datetime,
                             config: AllocationRules, decision: dict[str, Any] | None, over_capacity: bool = False,
                             previous: Any = None, reassignment_reason: str | None = None,
                             sla_deadline: datetime | None = None, decided_by: str | None = None,
                             claim: repository.Claim | None = None) -> AllocationRead:
    """`claim`: the RM's capacity, not claimed yet, taken by the allocation's INSERT (`repository.CapacityTaken`
    when the RM's row changed since it was ranked: nothing written)."""
    allocation_id = uuid.uuid4()
    deadline = sla_deadline or rules.sla_deadline(now, config)
    # The pipeline's and the allocation's audit rows and every event (the notices' too): one head advance, then
    # one statement with the rows, the new head and the events (issue 19)
    async with audit.deferred(conn, with_events=True):
        values = {
            "id": allocation_id, "lead_id": lead.id, "rm_id": rm_id, "team_id": team_id, "city": lead.city,
            "pipeline_id": None, "allocation_type": allocation_type.value, "allocation_reason": reason,
            "decided_by": decided_by,
            "priority": lead.priority, "status": AllocationStatus.PENDING.value, "allocated_at": now,
            "sla_deadline": deadline, "is_reassignment": previous is not None,
            "previous_rm_id": previous.rm_id if previous is not None else None,
            "reassignment_reason": reassignment_reason, "over_capacity": over_capacity, "decision": decision,
            "created_at": now, "updated_at": now,
        }
        row, queue_depth = await _insert_on_pipeline(conn, principal, values, lead=lead, now=now, deadline=deadline,
                                                     first=previous is None, reason=reassignment_reason or reason,
                                                     queue_threshold=config.queue_depth_alert, claim=claim)
        pipeline_id = values["pipeline_id"]
        allocation = _read(row, decision=decision)
        await outbox.record(conn, type_="sales.lead.allocated", subject=lead.id, at=now, data={
            "allocation_id": allocation_id, "lead_id": lead.id, "rm_id": rm_id,
            "allocation_type": allocation_type, "priority": lead.priority, "sla_deadline": deadline,
            "is_reassignment": previous is not None, "pipeline_id": pipeline_id})
        if previous is not None:
            await outbox.record(conn, type_="sales.lead.reassigned", subject=lead.id, at=now, data={
                "allocation_id": allocation_id, "previous_allocation_id": previous.id, "lead_id": lead.id,
                "from_rm_id": previous.rm_id, "to_rm_id": rm_id, "reason": reassignment_reason})
        await audit.record(conn, principal, action="allocation.created", entity_type="allocation",
                           entity_id=allocation_id, at=now, after=allocation.model_dump(exclude={"decision"}))
        await notices.allocation_created(conn, principal, allocation=allocation, lead=lead, previous=previous,
                                         config=config, queue_depth=queue_depth, now=now)  # US-SALE-010, -031, §2.2.5
    return allocation


async def _insert_on_pipeline(conn: AsyncConnection, principal: Principal | None, values: dict[str, Any], *,
                              lead: Any, now: datetime, deadline: datetime, first: bool, reason: str,
                              queue_threshold: int, claim: repository.Claim | None = None) -> tuple[Any, int]:
    """Insert the allocation (`values`, its `pipeline_id` set here) on the lead's open pipeline, with its lead's
    ALLOCATED and the RM's queue depth: for a `first` allocation a new pipeline inserted by the same statement (the
    lead rarely has one open), and the RM's `claim` taken by it first; otherwise, or when it has one after all, its
    open pipeline transferred to the RM."""
    rm_id = values["rm_id"]
    if first:
        opening = pipelines_service.new_pipeline(_new_pipeline(lead, rm_id), now=now, sla_deadline=deadline)
        values["pipeline_id"] = opening["id"]
        inserted = await repository.insert_allocation(conn, values, now=now, opening=opening,
                                                      queue_threshold=queue_threshold, claim=claim)
        if inserted is not None:
            await pipelines_service.pipeline_opened(conn, _engine_actor(principal), opening, now=now)
            return inserted
    values["pipeline_id"] = await _pipeline_for(conn, principal, lead=lead, rm_id=rm_id, now=now, deadline=deadline,
                                                reason=reason)
    inserted = await repository.insert_allocation(conn, values, now=now, queue_threshold=queue_threshold)
    assert inserted is not None  # without a pipeline to open, the allocation always goes in
    return inserted


def _new_pipeline(lead: Any, rm_id: UUID) -> PipelineCreate:
    return PipelineCreate(lead_id=lead.id, rm_id=rm_id, source=lead.source or Source.OTHER,
                          deal_value=lead.expected_deal_value)


async def _pipeline_for(conn: AsyncConnection, principal: Principal | None, *, lead: Any, rm_id: UUID,
                        now: datetime, deadline: datetime, reason: str) -> UUID:
    """The lead's open pipeline, transferred to the RM, or a new one when it has none."""
    actor = _engine_actor(principal)
    pipeline_id = await pipelines_service.find_open_for_lead(conn, lead_id=lead.id)
    if pipeline_id is not None:
        await pipelines_service.transfer(conn, actor, pipeline_id=pipeline_id, to_rm_id=rm_id, now=now,
                                         sla_deadline=deadline, reason=reason)
    elif (pipeline_id := await pipelines_service.open_pipeline(conn, actor, now=now, sla_deadline=deadline,
                                                               data=_new_pipeline(lead, rm_id))) is None:
        raise LeadHasOpenPipeline(f"lead {lead.id} got an open pipeline concurrently; retry")
    return pipeline_id


async def _queue_lead(conn: AsyncConnection, principal: Principal | None, *, lead: Any, reason: str,
                      now: datetime, decision: dict[str, Any] | None) -> QueuedLead:
    """LAR-007: nobody can take the lead now; it waits for the overflow-retry job, never lost."""
    queued_at = lead.queued_at if lead.allocation_status == "QUEUED" and lead.queued_at else now
    await leads_repository.update_lead(conn, lead.id, {"allocation_status": "QUEUED", "queue_reason": reason,
                                                       "queued_at": queued_at}, now=now)
    if lead.allocation_status != "QUEUED":
        await outbox.record(conn, type_="sales.lead.queued", subject=lead.id, at=now, data={
            "lead_id": lead.id, "city": lead.city, "priority": lead.priority, "reason": reason})
        await audit.record(conn, principal, action="lead.queued", entity_type="lead", entity_id=lead.id, at=now,
                           after={"reason": reason})
    return QueuedLead(lead_id=lead.id, reason=reason, priority=lead.priority, queued_at=queued_at, city=lead.city,
                      locality=lead.locality, decision=decision)


async def _route(conn: AsyncConnection, principal: Principal | None, *, lead: Any, now: datetime,
                 exclude: frozenset[UUID] = frozenset(), previous: Any = None,
                 reassignment_reason: str | None = None, sla_deadline: datetime | None = None) -> AllocationOutcome:
    """Let the engine place a lead (new, rejected, expired or reassigned) or queue it. A first allocation on
    PostgreSQL claims its RM's capacity in the allocation's own statement (issue 19); when the RM's row changed
    since it was ranked (a concurrent allocation claimed it, say), nothing was written, and the lead is decided
    again with the claims taken one by one."""
    place = functools.partial(_route_decided, conn, principal, lead=lead, facts=_lead_facts(lead), now=now,
                              exclude=exclude, previous=previous, reassignment_reason=reassignment_reason,
                              sla_deadline=sla_deadline)
    try:
        return await place(defer_claim=previous is None and is_postgres(conn))
    except repository.CapacityTaken:
        return await place(defer_claim=False)


async def _route_decided(conn: AsyncConnection, principal: Principal | None, *, lead: Any, facts: rules.Lead,
                         now: datetime, exclude: frozenset[UUID], previous: Any, reassignment_reason: str | None,
                         sla_deadline: datetime | None, defer_claim: bool) -> AllocationOutcome:
    cached = _rules_cache.get(rules.norm(lead.city))
    try:
        if cached is None:
            raise _RulesChanged(lead.city)
        rule_sets, (config, version, _) = cached
        decision, candidates, claim = await _decide_and_claim(conn, facts, config, now, exclude=exclude,
                                                              rule_sets=rule_sets, defer_claim=defer_claim)
    except _RulesChanged:  # not cached, or changed since: read them in this transaction, as every time before
        config, version, _ = await rules_for(conn, lead.city)
        decision, candidates, claim = await _decide_and_claim(conn, facts, config, now, exclude=exclude,
                                                              defer_claim=defer_claim)
    breakdown = (lead.intent or {}).get("_priority_breakdown", {}) if isinstance(lead.intent, dict) else {}
    trace = decision.trace(lead=facts, rules_version=version, priority_breakdown=breakdown)
    if decision.rm_id is None:
        return AllocationOutcome(202, queued=await _queue_lead(conn, principal, lead=lead, reason=decision.reason,
                                                               now=now, decision=trace))
    allocation_type = AllocationType.OVERFLOW if decision.outcome == "OVERFLOW" else AllocationType.AUTO
    allocation = await _create_allocation(
        conn, principal, lead=lead, rm_id=decision.rm_id, team_id=candidates[decision.rm_id].team_id,
        allocation_type=allocation_type, reason=decision.reason, now=now, config=config, decision=trace,
        previous=previous, reassignment_reason=reassignment_reason, sla_deadline=sla_deadline,
        decided_by=decision.decided_by, claim=claim)
    return AllocationOutcome(201, allocation=allocation)


# --- use cases ---------------------------------------------------------------------------------

async def lead_cities_in_scope(conn: AsyncConnection, principal: Principal) -> set[str] | None:
    """Normalised cities whose leads this principal may see, count and route: every city (None) for org-wide
    roles, their teams' cities for a supervisor, none for anyone else. GET /allocations/queued, the workload,
    simulations and POST /allocations all scope leads with this."""
    if principal.reads_org_wide:
        return None
    return await directory_service.cities_of_teams(conn, principal.supervised_teams)


def _check_lead_in_scope(cities: set[str] | None, *, stored: Any, city: str) -> None:
    """A stored lead of a city outside the caller's is 404, as GET scoping answers; a new lead may only be
    brought in for the caller's own cities (403)."""
    if cities is None:
        return
    if stored is not None and rules.norm(stored.city) not in cities:
        raise LeadNotFound(f"lead {stored.id} not found")
    if stored is None and rules.norm(city) not in cities:
        raise Forbidden("supervisors allocate leads of their teams' cities")


async def _visible_live(conn: AsyncConnection, principal: Principal, live: Any) -> AllocationOutcome:
    """The lead's live allocation as it stands (200) to whoever may read it; to anyone else the lead is 404."""
    if not principal.reads_org_wide and await repository.get(
            conn, live.id, scope=repository.readable(principal), with_decision=False) is None:
        raise LeadNotFound(f"lead {live.lead_id} not found")
    return AllocationOutcome(200, allocation=_read(live))


async def allocate_lead(conn: AsyncConnection, principal: Principal, *, request: LeadAllocationRequest,
                        now: datetime) -> AllocationOutcome:
    """Allocate a lead to the best RM (or the named RM), or queue it; a lead never gets two live allocations.

    Scope is checked before anything is returned or written. A re-posted lead keeps its stored facts unless
    the caller is SERVICE (the Leads domain owns them): other callers' differing facts are ignored."""
    if request.rm_id is not None and not principal.has(Role.SUPERVISOR, Role.SALES_ADMIN):
        raise Forbidden("only a SUPERVISOR or SALES_ADMIN may name the RM")
    # A lead that already has a live allocation is answered as it stands: its read model is not rewritten by
    # a repeated delivery (checked again under the lead's lock below, for concurrent first deliveries).
    org_wide = principal.reads_org_wide
    cities = None
    if not org_wide:  # org-wide callers (the Leads domain's deliveries: the hot path) fold this into the upsert
        existing = await repository.live_for_lead(conn, request.lead_id)
        if existing is not None:
            return await _visible_live(conn, principal, existing)
        cities = await lead_cities_in_scope(conn, principal)
        _check_lead_in_scope(cities, stored=await leads_repository.get(conn, request.lead_id), city=request.city)
    priority, breakdown = rules.score_lead(expected_deal_value=request.expected_deal_value,
                                           segment=request.segment.value, source=request.source.value,
                                           intent=request.intent)
    customer = request.customer
    values = {
        "id": request.lead_id, "customer_id": customer.id if customer else None,
        "customer_name": customer.name if customer else None, "customer_phone": customer.phone if customer else None,
        "customer_email": str(customer.email) if customer and customer.email else None,
        "city": request.city, "zone": request.zone, "locality": request.locality,
        "property_type": request.property_type.value, "segment": request.segment.value,
        "expected_deal_value": request.expected_deal_value, "source": request.source.value,
        "intent": {**(request.intent or {}), "_priority_breakdown": breakdown}, "priority": priority,
        "allocation_status": "NEW", "sla_breaches": 0, "created_at": now, "updated_at": now,
    }
    refresh = principal.has(Role.SERVICE)
    if org_wide:
        # One statement instead of a look-up and an upsert: a stored lead with a live allocation (as a look-up
        # before the statement would see it) is locked but not rewritten and not returned. A lead this statement
        # inserted has no allocation at all, so only a stored one is looked at again under the lock.
        lead, inserted = await leads_repository.upsert_and_lock_unless(
            conn, values, now=now, refresh_facts=refresh, unless=repository.LIVE_ALLOCATION_OF_LEAD,
            unless_params=repository.live_allocation_params(request.lead_id))
        if not inserted:
            existing = await repository.live_for_lead(conn, request.lead_id)
            if existing is not None:
                return await _visible_live(conn, principal, existing)
            if lead is None:  # its live allocation ended before the lock was ours: store the lead as ever
                lead = await leads_repository.upsert_and_lock(conn, values, now=now, refresh_facts=refresh)
        return await _place(conn, principal, request=request, lead=lead, now=now)
    lead = await leads_repository.upsert_and_lock(conn, values, now=now, refresh_facts=refresh)
    # Under the lock: a concurrent first delivery may have stored the lead (with its own city) meanwhile.
    _check_lead_in_scope(cities, stored=lead, city=request.city)
    existing = await repository.live_for_lead(conn, request.lead_id)
    if existing is not None:
        return await _visible_live(conn, principal, existing)
    return await _place(conn, principal, request=request, lead=lead, now=now)


async def _place(conn: AsyncConnection, principal: Principal, *, request: LeadAllocationRequest, lead: Any,
                 now: datetime) -> AllocationOutcome:
    if request.rm_id is not None:
        return AllocationOutcome(201, allocation=await _allocate_manually(
            conn, principal, lead=lead, rm_id=request.rm_id, reason=request.reason, now=now,
            override_capacity=request.override_capacity))
    return await _route(conn, principal, lead=lead, now=now)


async def _allocate_manually(conn: AsyncConnection, principal: Principal, *, lead: Any, rm_id: UUID,
                             reason: str | None, now: datetime, override_capacity: bool, previous: Any = None,
                             sla_deadline: datetime | None = None, field: str = "rm_id") -> AllocationRead:
    """A supervisor's choice: the RM must be active and in their teams; capacity holds unless overridden."""
    rm = await directory_repository.get_rm(conn, rm_id)
    if rm is None or not (principal.is_admin or principal.supervises(rm.team_id)):
        raise InvalidInput((field,), f"unknown RM {rm_id}")
    if rm.status != "ACTIVE":
        raise InvalidInput((field,), f"RM {rm_id} is not active")
    if previous is not None and previous.rm_id == rm_id:
        raise InvalidInput((field,), "the lead is already with this RM")
    config, version, _ = await rules_for(conn, lead.city)
    today = rules.local_time(now, config.timezone).date()
    claimed = await repository.claim_capacity(conn, rm_id, today=today, now=now)
    over = False
    if not claimed:
        if not override_capacity:
            raise RMAtCapacity(f"RM {rm_id} has reached capacity ({rm.capacity} active leads, LAR-002); "
                               "set override_capacity with a reason to exceed it")
        over = await repository.claim_capacity(conn, rm_id, today=today, now=now, over_capacity=True)
    text = reason or "manual allocation"
    trace = {"outcome": "MANUAL", "rm_id": str(rm_id), "reason": text, "rules_version": version,
             "override_capacity": over, "chosen_by": str(principal.sub)}
    return await _create_allocation(conn, principal, lead=lead, rm_id=rm_id, team_id=rm.team_id,
                                    allocation_type=AllocationType.MANUAL, reason=text, now=now, config=config,
                                    decision=trace, over_capacity=over, previous=previous,
                                    reassignment_reason=reason if previous is not None else None,
                                    sla_deadline=sla_deadline)


async def get_allocation(conn: AsyncConnection, principal: Principal, *, allocation_id: UUID) -> AllocationRead:
    row = await repository.get(conn, allocation_id, scope=repository.readable(principal))
    if row is None:
        raise AllocationNotFound(f"allocation {allocation_id} not found")
    return _read(row)


async def list_allocations(conn: AsyncConnection, principal: Principal, *, filters: dict[str, Any], limit: int,
                           cursor: list[Any] | None) -> list[AllocationRead]:
    rows = await repository.list_(conn, scope=repository.readable(principal), filters=filters, limit=limit,
                                  after=cursor_after(cursor, AFTER_TIME_AND_ID))
    return [_read(r) for r in rows]


async def _own_live_allocation(conn: AsyncConnection, principal: Principal, allocation_id: UUID) -> Any:
    """The RM's own allocation, locked; another RM's is 404."""
    row = await repository.get(conn, allocation_id, for_update=True)
    if row is None or row.rm_id != principal.sub:
        raise AllocationNotFound(f"allocation {allocation_id} not found")
    return row


async def accept(conn: AsyncConnection, principal: Principal, *, allocation_id: UUID,
                 now: datetime) -> AllocationRead:
    """The RM takes the lead: an explicit first action that stops the SLA clock (LAR-006)."""
    row = await _own_live_allocation(conn, principal, allocation_id)
    if row.status in (AllocationStatus.ACCEPTED, AllocationStatus.ACTIVE):
        return _read(row)
    if row.status != AllocationStatus.PENDING:
        raise AllocationNotLive(f"allocation is {row.status}; only a PENDING allocation can be accepted")
    await repository.update_allocation(conn, allocation_id, {
        "status": AllocationStatus.ACCEPTED.value, "accepted_at": now,
        "first_action_at": row.first_action_at or now, "updated_at": now})
    await audit.record(conn, principal, action="allocation.accepted", entity_type="allocation",
                       entity_id=allocation_id, at=now, before={"status": row.status},
                       after={"status": AllocationStatus.ACCEPTED})
    await repository.clear_queue_alerts(conn, rm_id=row.rm_id, team_id=row.team_id, now=now)
    return _read(await repository.get(conn, allocation_id))


async def _end(conn: AsyncConnection, row: Any, *, status: AllocationStatus, now: datetime) -> None:
    await repository.update_allocation(conn, row.id, {"status": status.value, "ended_at": now, "updated_at": now})
    await repository.release_capacity(conn, row.rm_id)
    if row.status == AllocationStatus.PENDING:
        await repository.clear_queue_alerts(conn, rm_id=row.rm_id, team_id=row.team_id, now=now)


async def reject(conn: AsyncConnection, principal: Principal, *, allocation_id: UUID, reason: str,
                 now: datetime) -> Reallocation:
    """The RM declines the lead with a reason; it goes at once to another RM (never back to this one)."""
    row = await _own_live_allocation(conn, principal, allocation_id)
    if row.status not in (AllocationStatus.PENDING, AllocationStatus.ACCEPTED):
        raise AllocationNotLive(f"allocation is {row.status}; only PENDING or ACCEPTED leads can be rejected")
    return await move_lead(conn, principal, row, now=now, status=AllocationStatus.REASSIGNED,
                            reassignment_reason=f"REJECTED: {reason}", audit_action="allocation.rejected")


async def move_lead(conn: AsyncConnection, principal: Principal | None, row: Any, *, now: datetime,
                     status: AllocationStatus, reassignment_reason: str, audit_action: str,
                     to_rm_id: UUID | None = None, reset_sla: bool = True,
                     override_capacity: bool = False) -> Reallocation:
    """End a live allocation (REASSIGNED or EXPIRED) and place the lead again: with a named RM, or through the
    engine excluding every RM who already had it; queued when nobody can take it. Its audit rows are chained at its
    end, after the new RM's claim: the audit partition's lock is the last it takes (see allocation.jobs)."""
    async with audit.deferred(conn):
        return await _move_lead(conn, principal, row, now=now, status=status,
                                reassignment_reason=reassignment_reason, audit_action=audit_action,
                                to_rm_id=to_rm_id, reset_sla=reset_sla, override_capacity=override_capacity)


async def _move_lead(conn: AsyncConnection, principal: Principal | None, row: Any, *, now: datetime,
                     status: AllocationStatus, reassignment_reason: str, audit_action: str, to_rm_id: UUID | None,
                     reset_sla: bool, override_capacity: bool) -> Reallocation:
    lead = await leads_repository.get(conn, row.lead_id, for_update=True)
    await _end(conn, row, status=status, now=now)
    await audit.record(conn, principal, action=audit_action, entity_type="allocation", entity_id=row.id, at=now,
                       before={"status": row.status, "rm_id": row.rm_id},
                       after={"status": status, "reason": reassignment_reason})
    deadline = None if reset_sla else row.sla_deadline
    if to_rm_id is not None:
        allocation = await _allocate_manually(conn, principal, lead=lead, rm_id=to_rm_id, reason=reassignment_reason,
                                              now=now, override_capacity=override_capacity, previous=row,
                                              sla_deadline=deadline, field="to_rm_id")
        outcome = AllocationOutcome(201, allocation=allocation)
    else:
        exclude = frozenset(await repository.rms_who_had_lead(conn, row.lead_id)) | {row.rm_id}
        outcome = await _route(conn, principal, lead=lead, now=now, exclude=exclude, previous=row,
                               reassignment_reason=reassignment_reason, sla_deadline=deadline)
    previous = _read(await repository.get(conn, row.id))
    return Reallocation(previous=previous, allocation=outcome.allocation, queued=outcome.queued)


async def reassign(conn: AsyncConnection, principal: Principal, *, allocation_id: UUID, data: ReassignRequest,
                   now: datetime) -> Reallocation:
    """A supervisor moves a live lead to a named RM, or lets the engine choose another one."""
    row = await repository.get(conn, allocation_id, scope=repository.readable(principal), for_update=True)
    if row is None:
        raise AllocationNotFound(f"allocation {allocation_id} not found")
    if not (principal.is_admin or principal.supervises(row.rm_team_id)):
        raise Forbidden("only the team's supervisor or a SALES_ADMIN may reassign")
    if row.status not in LIVE:
        raise AllocationNotLive(f"allocation is {row.status}; only live allocations can be reassigned")
    if data.override_capacity and data.to_rm_id is None:
        raise InvalidInput(("override_capacity",), "override_capacity needs to_rm_id")
    return await move_lead(conn, principal, row, now=now, status=AllocationStatus.REASSIGNED,
                            reassignment_reason=data.reason, audit_action="allocation.reassigned",
                            to_rm_id=data.to_rm_id, reset_sla=data.reset_sla,
                            override_capacity=data.override_capacity)


# --- reacting to pipelines ----------------------------------------------------------------------

def _stage_change_ride(*, lead_id: UUID, rm_id: UUID, new_stage: Stage, now: datetime, **_: Any) -> hooks.Ride:
    """`_on_stage_changed`'s first write, carried by the stage change's own statement on PostgreSQL."""
    closed = new_stage.is_closed

    async def then(conn: AsyncConnection, acted: Any) -> None:
        await _after_acted_on(conn, acted, lead_id=lead_id, rm_id=rm_id, closed=closed, now=now)

    return hooks.Ride(key=("allocation.acted_on", closed), build=functools.partial(repository.acted_on_cte, closed),
                      params={"of_lead": lead_id, "of_rm": rm_id, "acted_at": now}, then=then)


@hooks.subscribe("pipeline.stage_changed", ride=_stage_change_ride)
async def _on_stage_changed(conn: AsyncConnection, *, pipeline_id: UUID, lead_id: UUID, rm_id: UUID,
                            old_stage: Stage, new_stage: Stage, now: datetime) -> None:
    """First move out of NEW is the RM's first action (LAR-006); a closed pipeline completes the allocation."""
    closed = new_stage.is_closed
    acted = await repository.act_on_live_for_lead(conn, lead_id=lead_id, rm_id=rm_id, closed=closed, now=now)
    await _after_acted_on(conn, acted, lead_id=lead_id, rm_id=rm_id, closed=closed, now=now)


async def _after_acted_on(conn: AsyncConnection, acted: Any, *, lead_id: UUID, rm_id: UUID, closed: bool,
                          now: datetime) -> None:
    """The rest, once the lead's live allocation was acted on (`acted`: its id, team and status before; None when
    the RM held none): a closed pipeline frees the RM's slot and closes the lead; a first action shrinks the queue."""
    if acted is None:
        return
    if closed:
        await repository.release_capacity(conn, rm_id)
        await leads_repository.update_lead(conn, lead_id, {"allocation_status": "CLOSED"}, now=now)
    if acted.previous_status == AllocationStatus.PENDING:
        await repository.clear_queue_alerts(conn, rm_id=rm_id, team_id=acted.team_id, now=now)


def day_bounds(now: datetime, timezone: str) -> tuple[date, datetime, datetime]:
    local = rules.local_time(now, timezone)
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return local.date(), start, start + timedelta(days=1)




async def bulk_reassign(conn: AsyncConnection, principal: Principal, *, data: BulkReassignRequest,
                        now: datetime) -> BulkReassignResult:
    """All or nothing: every allocation is reassigned, or none is and the per-item errors say why."""
    results: list[BulkItemResult] = []
    failed = False
    for allocation_id in dict.fromkeys(data.allocation_ids):
        item = await conn.begin_nested()
        try:
            moved = await reassign(conn, principal, allocation_id=allocation_id, now=now, data=ReassignRequest(
                to_rm_id=data.to_rm_id, reason=data.reason, reset_sla=data.reset_sla))
        except SalesError as exc:
            await item.rollback()
            failed = True
            results.append(BulkItemResult(allocation_id=allocation_id, ok=False, error=exc.detail, code=exc.code))
            continue
        await item.commit()
        new = moved.allocation
        results.append(BulkItemResult(allocation_id=allocation_id, ok=True,
                                      new_allocation_id=new.id if new else None, rm_id=new.rm_id if new else None,
                                      status="REASSIGNED" if new else "QUEUED"))
    if failed:
        raise BulkReassignFailed(f"{sum(not r.ok for r in results)} of {len(results)} allocations could not be "
                                 "reassigned", extra={"results": [r.model_dump(mode="json") for r in results]})
    return BulkReassignResult(results=results)


async def route_queued(conn: AsyncConnection, *, lead: Any, now: datetime) -> AllocationOutcome:
    """Give a queued lead another try (overflow-retry job); RMs who already had it are skipped."""
    exclude = frozenset(await repository.rms_who_had_lead(conn, lead.id))
    return await _route(conn, None, lead=lead, now=now, exclude=exclude)


# --- leave and availability (issue 17) ----------------------------------------------------------

RM_UNAVAILABLE = "RM_UNAVAILABLE"


@hooks.subscribe("rm.unavailable")
async def reallocate_pending(conn: AsyncConnection, *, principal: Principal | None, rm_id: UUID,
                             team_id: UUID | None, city: str, why: str, now: datetime,
                             leave: tuple[date, date] | None = None,
                             allocated_before: datetime | None = None) -> int:
    """PRD §2.2.5: an RM who went OFFLINE, became INACTIVE or is on leave today gives up the leads they have not
    acted on (PENDING, no first action): each goes back through the engine with reason RM_UNAVAILABLE, or is
    queued. Accepted and active leads stay unless a supervisor moves them; the team's supervisor is told. A leave
    counts when it covers today in the city's time zone (the `leave-start` job catches leaves that start after
    they were recorded, for leads allocated before `allocated_before`). The directory announces the change inside
    its transaction, so the change and the reallocations commit together. Returns how many leads moved away."""
    if leave is not None:
        config, _, _ = await rules_for(conn, city)
        if not leave[0] <= rules.local_time(now, config.timezone).date() <= leave[1]:
            return 0
    moved: list[dict[str, Any]] = []
    queued: list[UUID] = []
    async with audit.deferred(conn):  # the audit partition's lock after every lead's new RM (move_lead)
        for row in await repository.pending_unacted(conn, rm_id, allocated_before=allocated_before or now):
            result = await move_lead(conn, principal, row, now=now, status=AllocationStatus.REASSIGNED,
                                     reassignment_reason=RM_UNAVAILABLE, audit_action="allocation.reassigned")
            if result.allocation is not None:
                moved.append({"lead_id": row.lead_id, "to_rm_id": result.allocation.rm_id})
            else:
                queued.append(row.lead_id)
    kept = await repository.live_count(conn, rm_id)
    if moved or queued or kept:
        await notices.rm_unavailable(conn, rm_id=rm_id, team_id=team_id, why=why, moved=moved, queued=queued,
                                     kept=kept, now=now)
    return len(moved) + len(queued)
