"""Visit plan use cases (issue 15): plan, re-plan, Scheduling's answers, outcomes, reminders. Never commits."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from sales.core import audit, outbox
from sales.core.auth import Principal
from sales.core.errors import InvalidInput
from sales.notifications.enums import RecipientType
from sales.notifications.service import notify
from sales.pipelines import service as pipelines_service
from sales.pipelines.enums import Stage
from sales.pipelines.errors import PipelineClosed, PipelineNotFound
from sales.pipelines.repository import get as get_pipeline_row, readable as readable_pipelines
from sales.tasks import service as tasks_service
from sales.tasks.enums import TaskSource, TaskType
from sales.visits import planner, repository, rules
from sales.visits.enums import PENDING, PlanStatus, StopStatus, WindowSource
from sales.visits.errors import (Infeasible, StopNotVisitable, VisitPlanChanged, VisitPlanClosed, VisitPlanNotFound,
                                 VisitStopNotFound)
from sales.visits.schemas import (BestPlan, InfeasibleStop, OwnerWindow, PlannedVisit, StopOutcome, StopRead,
                                  VisitAnswer, VisitPlanCreate, VisitPlanRead, plan_read)
from sales.visits.travel import Point, checked_minutes, travel_times

log = structlog.get_logger(__name__)
REQUESTED_EVENT = "sales.visit.requested"


# --- reading ------------------------------------------------------------------------------------------------

def stop_read(row: Any) -> StopRead:
    return StopRead(
        id=row.id, listing_id=row.listing_id, position=row.position, status=row.status, lat=float(row.lat),
        lon=float(row.lon), arrival_at=row.arrival_at, start_at=row.start_at, end_at=row.end_at,
        travel_minutes=row.travel_minutes, wait_minutes=row.wait_minutes,
        owner_windows=[OwnerWindow(start=a, end=b) for a, b in row.owner_windows],
        window_source=row.window_source, visit_id=row.visit_id, decline_reason=row.decline_reason,
        interested=row.interested, rating=row.rating, notes=row.notes, outcome=row.outcome,
        completed_at=row.completed_at)


async def _read(conn: AsyncConnection, plan: Any) -> VisitPlanRead:
    return plan_read(plan, [stop_read(s) for s in await repository.stops_of(conn, plan.id)])


async def _load(conn: AsyncConnection, principal: Principal, plan_id: UUID, *, for_update: bool = False) -> Any:
    plan = await repository.get_plan(conn, plan_id, scope=repository.readable(principal), for_update=for_update)
    if plan is None:
        raise VisitPlanNotFound(f"visit plan {plan_id} not found")
    return plan


async def get_plan(conn: AsyncConnection, principal: Principal, *, plan_id: UUID) -> VisitPlanRead:
    return await _read(conn, await _load(conn, principal, plan_id))


async def plans_of_pipeline(conn: AsyncConnection, principal: Principal, *, pipeline_id: UUID) -> list[VisitPlanRead]:
    """The pipeline's visit plans, newest first (the console's pipeline page); none when out of scope."""
    if await get_pipeline_row(conn, pipeline_id, scope=readable_pipelines(principal)) is None:
        return []
    return [await _read(conn, plan) for plan in await repository.plans_of(conn, pipeline_id)]


# --- planning -----------------------------------------------------------------------------------------------

class _Stop:
    """A stop as the planner sees it: where it is and when its owner can receive the customer."""

    def __init__(self, *, listing_id: UUID, lat: Any, lon: Any, windows: list[tuple[datetime, datetime]],
                 source: WindowSource, index: int, row_id: UUID | None = None) -> None:
        self.listing_id, self.lat, self.lon, self.windows = listing_id, lat, lon, windows
        self.source, self.index, self.row_id = source, index, row_id


def _solve(*, start: Point, departure: datetime, window_end: datetime, visit_minutes: int,
           stops: list[_Stop]) -> tuple[planner.Problem, planner.Plan]:
    points = [start, *(Point(float(s.lat), float(s.lon)) for s in stops)]
    problem = rules.problem(departure=departure, window_end=window_end, visit_minutes=visit_minutes,
                            travel=checked_minutes(travel_times(), points),
                            stops=[rules.StopInput(windows=tuple(s.windows)) for s in stops])
    return problem, planner.plan(problem)


def _planned(result: planner.Plan, stops: list[_Stop], departure: datetime) -> list[PlannedVisit]:
    return [PlannedVisit(listing_id=stops[v.stop].listing_id, position=i, arrival_at=rules.clock(departure, v.arrival),
                         start_at=rules.clock(departure, v.start), end_at=rules.clock(departure, v.end),
                         travel_minutes=v.travel, wait_minutes=v.wait)
            for i, v in enumerate(result.visits, start=1)]


def _infeasible(problem: planner.Problem, result: planner.Plan, stops: list[_Stop], departure: datetime) -> Infeasible:
    named = [InfeasibleStop(index=stops[k].index, listing_id=stops[k].listing_id,
                            reason=rules.dropped_reason(problem, k)) for k in result.dropped]
    best = BestPlan(itinerary=_planned(result, stops, departure), total_minutes=result.total_minutes,
                    travel_minutes=result.travel_minutes, wait_minutes=result.wait_minutes)
    listed = ", ".join(f"stops[{s.index}] (listing {s.listing_id})" for s in named)
    return Infeasible(f"the windows of {listed} cannot be met; best_plan plans the others",
                      extra={"infeasible_stops": [s.model_dump(mode="json") for s in named],
                             "best_plan": best.model_dump(mode="json")})


def _windows_json(windows: list[tuple[datetime, datetime]]) -> list[list[str]]:
    return [[a.isoformat(), b.isoformat()] for a, b in windows]


async def _request_stops(conn: AsyncConnection, data: VisitPlanCreate) -> list[_Stop]:
    ids = [s.listing_id for s in data.stops]
    seen: set[UUID] = set()
    for i, listing_id in enumerate(ids):
        if listing_id in seen:
            raise InvalidInput(("stops", i, "listing_id"), f"listing {listing_id} is already a stop of this plan")
        seen.add(listing_id)
    known = await repository.listings_by_id(conn, ids)
    reported = await repository.availability(conn, ids)
    stops = []
    for i, requested in enumerate(data.stops):
        listing = known.get(requested.listing_id)
        if listing is None:
            raise InvalidInput(("stops", i, "listing_id"), f"unknown listing {requested.listing_id}")
        if listing.status != "AVAILABLE":
            raise InvalidInput(("stops", i, "listing_id"), f"listing {requested.listing_id} is {listing.status}")
        windows, source = reported.get(requested.listing_id), WindowSource.SCHEDULING
        if windows is None and requested.owner_window_start is not None:
            opens = rules.at(data.date, requested.owner_window_start)
            closes = rules.at(data.date, requested.owner_window_end)  # type: ignore[arg-type]
            if closes <= opens:
                raise InvalidInput(("stops", i, "owner_window_end"), "must be after owner_window_start")
            windows, source = [(opens, closes)], WindowSource.REQUEST
        if windows is None:
            windows, source = [], WindowSource.NONE
        stops.append(_Stop(listing_id=requested.listing_id, lat=listing.lat, lon=listing.lon, windows=windows,
                           source=source, index=i))
    return stops


async def create_plan(conn: AsyncConnection, principal: Principal, *, pipeline_id: UUID, data: VisitPlanCreate,
                      now: datetime) -> VisitPlanRead:
    """Order the stops for the least travel + waiting within every window, store the plan, request each visit
    from Scheduling (sales.visit.requested) and move the pipeline to VISIT_SCHEDULED; 422 `infeasible` (nothing
    written) naming the stops whose windows cannot be met, with the best plan of the others."""
    window_start, window_end = rules.at(data.date, data.window_start), rules.at(data.date, data.window_end)
    if window_end <= window_start:
        raise InvalidInput(("window_end",), "must be after window_start")
    if window_end - window_start > rules.MAX_DAY:
        raise InvalidInput(("window_end",), "a visit plan covers at most 24 hours")
    pipeline = await get_pipeline_row(conn, pipeline_id, scope=readable_pipelines(principal), for_update=True)
    if pipeline is None:
        raise PipelineNotFound(f"pipeline {pipeline_id} not found")
    if Stage(pipeline.stage).is_closed:
        raise PipelineClosed(f"pipeline {pipeline_id} is closed at {pipeline.stage}")
    stops = await _request_stops(conn, data)
    start = Point(float(data.start.lat), float(data.start.lon))
    problem, result = _solve(start=start, departure=window_start, window_end=window_end,
                             visit_minutes=data.visit_minutes, stops=stops)
    if result.dropped:
        raise _infeasible(problem, result, stops, window_start)
    plan_id = uuid.uuid4()
    plan_values = {
        "id": plan_id, "pipeline_id": pipeline_id, "plan_date": data.date, "window_start": window_start,
        "window_end": window_end, "start_lat": data.start.lat, "start_lon": data.start.lon,
        "visit_minutes": data.visit_minutes, "status": PlanStatus.ACTIVE.value, "total_minutes": result.total_minutes,
        "travel_minutes": result.travel_minutes, "wait_minutes": result.wait_minutes, "version": 1,
        "created_by": principal.sub, "created_at": now, "updated_at": now}
    visits = {v.stop: (position, v) for position, v in enumerate(result.visits, start=1)}
    stop_rows = []
    for k, stop in enumerate(stops):
        position, visit = visits[k]
        stop_rows.append({
            "id": uuid.uuid4(), "plan_id": plan_id, "listing_id": stop.listing_id, "request_index": stop.index,
            "lat": stop.lat, "lon": stop.lon, "owner_windows": _windows_json(stop.windows),
            "window_source": stop.source.value, "created_at": now, "updated_at": now,
            **_scheduled(position, visit, window_start)})
    await repository.insert_plan(conn, plan_values, stop_rows)
    customer_id = await repository.customer_of(conn, pipeline.lead_id)
    for row in sorted(stop_rows, key=lambda r: r["position"]):
        await _request_visit(conn, row, plan_id=plan_id, pipeline=pipeline, customer_id=customer_id, version=1,
                             now=now)
    await pipelines_service.advance_to(conn, stage=Stage.VISIT_SCHEDULED, now=now, actor=principal,
                                       pipeline_id=pipeline_id, reason=f"visit plan {plan_id}")
    await audit.record(conn, principal, action="visit_plan.created", entity_type="visit_plan", entity_id=plan_id,
                       at=now, after={**plan_values, "stops": [{"listing_id": r["listing_id"],
                                                               "position": r["position"]} for r in stop_rows]})
    return await get_plan(conn, principal, plan_id=plan_id)


def _scheduled(position: int, visit: planner.Visit, departure: datetime) -> dict[str, Any]:
    return {"position": position, "status": StopStatus.REQUESTED.value,
            "arrival_at": rules.clock(departure, visit.arrival), "start_at": rules.clock(departure, visit.start),
            "end_at": rules.clock(departure, visit.end), "travel_minutes": visit.travel,
            "wait_minutes": visit.wait, "reminded_24h_at": None, "reminded_1h_at": None}


async def _request_visit(conn: AsyncConnection, stop: dict[str, Any], *, plan_id: UUID, pipeline: Any,
                         customer_id: UUID | None, version: int, now: datetime) -> None:
    await outbox.record(conn, type_=REQUESTED_EVENT, subject=stop["id"], at=now, data={
        "request_id": stop["id"], "plan_id": plan_id, "plan_version": version, "pipeline_id": pipeline.id,
        "lead_id": pipeline.lead_id, "customer_id": customer_id, "rm_id": pipeline.rm_id,
        "listing_id": stop["listing_id"], "position": stop["position"], "start_at": stop["start_at"],
        "end_at": stop["end_at"]})


# --- re-planning --------------------------------------------------------------------------------------------

async def replan(conn: AsyncConnection, principal: Principal, *, plan_id: UUID, now: datetime) -> VisitPlanRead:
    """Re-plan the stops still to be visited from now (or the window's start), after the last visited stop,
    with the owners' latest availability; 422 `infeasible` (nothing written) when some no longer fit."""
    plan = await _load(conn, principal, plan_id, for_update=True)
    if plan.status != PlanStatus.ACTIVE:
        raise VisitPlanClosed(f"visit plan {plan_id} is {plan.status}")
    await _replan(conn, plan, actor=principal, now=now, drop=False)
    await audit.record(conn, principal, action="visit_plan.replanned", entity_type="visit_plan", entity_id=plan_id,
                       at=now, before={"version": plan.version}, after={"version": plan.version + 1})
    return await get_plan(conn, principal, plan_id=plan_id)


async def _replan(conn: AsyncConnection, plan: Any, *, actor: Principal, now: datetime, drop: bool) -> list[Any]:
    """Lay the pending stops out again; `drop`: stops that no longer fit become UNSCHEDULED (else 422).
    Returns the rows of the stops that were dropped."""
    rows = await repository.stops_of(conn, plan.id)
    pending = [r for r in rows if r.status in PENDING]
    visited = sorted((r for r in rows if r.status == StopStatus.COMPLETED and r.end_at is not None),
                     key=lambda r: r.end_at)
    start = (Point(float(visited[-1].lat), float(visited[-1].lon)) if visited
             else Point(float(plan.start_lat), float(plan.start_lon)))
    departure = rules.departure_for_replan(plan.window_start, now)
    if visited and visited[-1].end_at > departure:
        departure = visited[-1].end_at
    reported = await repository.availability(conn, [r.listing_id for r in pending])
    stops = [_Stop(listing_id=r.listing_id, lat=r.lat, lon=r.lon, index=r.request_index, row_id=r.id,
                   windows=reported.get(r.listing_id) or [(datetime.fromisoformat(a), datetime.fromisoformat(b))
                                                          for a, b in r.owner_windows],
                   source=WindowSource.SCHEDULING if r.listing_id in reported else WindowSource(r.window_source))
             for r in pending]
    problem, result = _solve(start=start, departure=departure, window_end=plan.window_end,
                             visit_minutes=plan.visit_minutes, stops=stops)
    if result.dropped and not drop:
        raise _infeasible(problem, result, stops, departure)
    if not await repository.update_plan(conn, plan.id, {
            "total_minutes": result.total_minutes, "travel_minutes": result.travel_minutes,
            "wait_minutes": result.wait_minutes, "updated_at": now}, version=plan.version):
        raise VisitPlanChanged(f"visit plan {plan.id} changed meanwhile; read it again")
    pipeline = await get_pipeline_row(conn, plan.pipeline_id)
    customer_id = await repository.customer_of(conn, plan.lead_id)
    by_row = {r.id: r for r in pending}
    for position, visit in enumerate(result.visits, start=1):
        stop, row = stops[visit.stop], by_row[stops[visit.stop].row_id]
        values = {**_scheduled(position, visit, departure), "owner_windows": _windows_json(stop.windows),
                  "window_source": stop.source.value, "updated_at": now}
        if values["start_at"] == row.start_at:  # same slot: keep its confirmation and reminders
            for kept in ("status", "reminded_24h_at", "reminded_1h_at"):
                values.pop(kept)
        await repository.update_stop(conn, row.id, values, statuses=PENDING)
        if "status" in values:
            await _request_visit(conn, {**values, "id": row.id, "listing_id": row.listing_id}, plan_id=plan.id,
                                 pipeline=pipeline, customer_id=customer_id, version=plan.version + 1, now=now)
    dropped = [by_row[stops[k].row_id] for k in result.dropped]
    for row in dropped:
        await repository.update_stop(conn, row.id, {"status": StopStatus.UNSCHEDULED.value, "position": None,
                                                    "updated_at": now}, statuses=PENDING)
    return dropped


# --- Scheduling's answers -----------------------------------------------------------------------------------

async def _answered_stop(conn: AsyncConnection, answer: VisitAnswer, kind: str) -> Any:
    stop_id = answer.stop
    row = await repository.get_stop(conn, stop_id) if stop_id is not None else None
    if row is None:
        log.warning("visit_answer_unknown_request", kind=kind, request_id=str(stop_id))
    return row


async def on_confirmed(conn: AsyncConnection, *, answer: VisitAnswer, now: datetime) -> None:
    """scheduling.visit.confirmed: REQUESTED -> CONFIRMED, keeping Scheduling's visit id."""
    row = await _answered_stop(conn, answer, "confirmed")
    if row is None:
        return
    await repository.update_stop(conn, row.id, {"status": StopStatus.CONFIRMED.value, "visit_id": answer.visit_id,
                                                "updated_at": now}, statuses=PENDING)


async def on_declined(conn: AsyncConnection, *, answer: VisitAnswer, actor: Principal, now: datetime) -> None:
    """scheduling.visit.declined: the stop is DECLINED, the remaining stops are re-planned (those that no longer
    fit become UNSCHEDULED) and the customer is told, with the new itinerary."""
    row = await _answered_stop(conn, answer, "declined")
    if row is None:
        return
    if not await repository.update_stop(conn, row.id, {
            "status": StopStatus.DECLINED.value, "position": None, "visit_id": answer.visit_id or row.visit_id,
            "decline_reason": answer.reason, "updated_at": now}, statuses=PENDING):
        return
    plan = await repository.get_plan(conn, row.plan_id, for_update=True)
    dropped = await _replan(conn, plan, actor=actor, now=now, drop=True)
    after = await _read(conn, await repository.get_plan(conn, plan.id))
    customer_id = await repository.customer_of(conn, plan.lead_id)
    data = {"plan_id": str(plan.id), "declined_listing_id": str(row.listing_id), "reason": answer.reason,
            "unscheduled_listing_ids": [str(r.listing_id) for r in dropped],
            "itinerary": [{"listing_id": str(s.listing_id), "start_at": s.start_at.isoformat() if s.start_at else None}
                          for s in after.itinerary]}
    for recipient_type, recipient_id in ((RecipientType.CUSTOMER, customer_id), (RecipientType.RM, plan.rm_id)):
        if recipient_id is not None:
            await notify(conn, recipient_type=recipient_type, recipient_id=recipient_id, template="visit_declined",
                         data=data, dedupe_key=f"visit-declined:{row.id}:{recipient_type}", transactional=True,
                         now=now)
    await audit.record(conn, actor, action="visit_stop.declined", entity_type="visit_plan", entity_id=plan.id,
                       at=now, after={"stop_id": row.id, "reason": answer.reason,
                                      "unscheduled": [r.id for r in dropped]})
    await _complete_if_done(conn, plan, actor=actor, now=now)


async def on_completed(conn: AsyncConnection, *, answer: VisitAnswer, actor: Principal, now: datetime) -> None:
    """scheduling.visit.completed naming a planned stop: the stop is COMPLETED with Scheduling's outcome."""
    row = await _answered_stop(conn, answer, "completed")
    if row is None:
        return
    values = {"status": StopStatus.COMPLETED.value, "outcome": answer.outcome, "updated_at": now,
              "completed_at": row.completed_at or now, "visit_id": answer.visit_id or row.visit_id}
    for field in ("interested", "rating", "notes"):
        if getattr(answer, field) is not None:
            values[field] = getattr(answer, field)
    if await repository.update_stop(conn, row.id, values, statuses=(*PENDING, StopStatus.COMPLETED.value)):
        plan = await repository.get_plan(conn, row.plan_id, for_update=True)
        await _complete_if_done(conn, plan, actor=actor, now=now)


# --- outcomes and completion --------------------------------------------------------------------------------

async def record_outcome(conn: AsyncConnection, principal: Principal, *, plan_id: UUID, stop_id: UUID,
                         data: StopOutcome, now: datetime) -> StopRead:
    """The RM's outcome of a visited stop (interested, rating 1-5, notes): the stop is COMPLETED; the last one
    completes the plan (pipeline -> VISIT_COMPLETED, a VISIT_FOLLOW_UP task)."""
    plan = await _load(conn, principal, plan_id, for_update=True)
    row = await repository.get_stop(conn, stop_id)
    if row is None or row.plan_id != plan_id:
        raise VisitStopNotFound(f"stop {stop_id} not found in visit plan {plan_id}")
    if row.status in (StopStatus.DECLINED, StopStatus.UNSCHEDULED):
        raise StopNotVisitable(f"stop {stop_id} is {row.status}; it was not visited")
    values = {**data.model_dump(exclude_unset=True), "status": StopStatus.COMPLETED.value,
              "completed_at": row.completed_at or now, "updated_at": now}
    if not await repository.update_stop(conn, stop_id, values, statuses=(*PENDING, StopStatus.COMPLETED.value)):
        raise VisitPlanChanged(f"stop {stop_id} changed meanwhile; read it again")
    await audit.record(conn, principal, action="visit_stop.outcome_recorded", entity_type="visit_plan",
                       entity_id=plan_id, at=now, before={"stop_id": stop_id, "status": row.status},
                       after={"stop_id": stop_id, **values})
    await _complete_if_done(conn, plan, actor=principal, now=now)
    return stop_read(await repository.get_stop(conn, stop_id))


async def _complete_if_done(conn: AsyncConnection, plan: Any, *, actor: Principal, now: datetime) -> None:
    """Once no stop is pending, the plan is COMPLETED (once); when something was visited the pipeline moves to
    VISIT_COMPLETED and the RM gets a VISIT_FOLLOW_UP task, else a CALL task to arrange other visits."""
    if not await repository.complete_plan(conn, plan.id, now=now):
        return
    visited = [r for r in await repository.stops_of(conn, plan.id) if r.status == StopStatus.COMPLETED]
    if visited:
        await pipelines_service.advance_to(conn, stage=Stage.VISIT_COMPLETED, now=now, actor=actor,
                                           pipeline_id=plan.pipeline_id, reason=f"visit plan {plan.id} completed")
        interested = sum(1 for r in visited if r.interested)
        await tasks_service.create_automatic(
            conn, type_=TaskType.VISIT_FOLLOW_UP, rm_id=plan.rm_id, pipeline_id=plan.pipeline_id,
            due_at=now + rules.FOLLOW_UP_AFTER, source=TaskSource.VISIT_PLAN, source_key=f"visit-plan:{plan.id}",
            notes=f"Follow up on {len(visited)} visited listing(s), {interested} marked interested", now=now)
    else:
        await tasks_service.create_automatic(
            conn, type_=TaskType.CALL, rm_id=plan.rm_id, pipeline_id=plan.pipeline_id,
            due_at=now + rules.FOLLOW_UP_AFTER, source=TaskSource.VISIT_PLAN, source_key=f"visit-plan:{plan.id}",
            notes="No listing of the visit plan could be visited: call the customer to arrange others", now=now)
    await audit.record(conn, actor, action="visit_plan.completed", entity_type="visit_plan", entity_id=plan.id,
                       at=now, after={"status": PlanStatus.COMPLETED, "visited": len(visited)})


# --- availability and reminders -----------------------------------------------------------------------------

async def on_availability(conn: AsyncConnection, *, listing_id: UUID, windows: list[tuple[datetime, datetime]],
                          reported_at: datetime, now: datetime) -> bool:
    """scheduling.availability.updated: the owner's windows, used by every later plan and re-plan."""
    return await repository.save_availability(conn, listing_id=listing_id, windows=_windows_json(windows),
                                              reported_at=reported_at, now=now)


async def send_reminders(conn: AsyncConnection, *, now: datetime) -> int:
    """Remind the customer and the RM of each pending visit 24 h and 1 h before it starts, each once."""
    sent = 0
    for kind, column in (("24h", "reminded_24h_at"), ("1h", "reminded_1h_at")):
        for row in await repository.reminders_due(conn, column=column, start_from=now,
                                                  start_to=now + rules.REMINDERS["24h"]):
            if not rules.reminder_due(kind, start_at=row.start_at, now=now):
                continue
            if not await repository.mark_reminded(conn, row.id, column=column, start_at=row.start_at, now=now):
                continue
            data = {"plan_id": str(row.plan_id), "pipeline_id": str(row.pipeline_id),
                    "listing_id": str(row.listing_id), "start_at": row.start_at.isoformat(),
                    "end_at": row.end_at.isoformat(), "before": kind}
            for recipient_type, recipient_id in ((RecipientType.CUSTOMER, row.customer_id),
                                                 (RecipientType.RM, row.rm_id)):
                if recipient_id is not None:
                    await notify(conn, recipient_type=recipient_type, recipient_id=recipient_id,
                                 template="visit_reminder", data=data, transactional=True, now=now,
                                 dedupe_key=f"visit-reminder:{row.id}:{kind}:{row.start_at.isoformat()}:"
                                            f"{recipient_type}")
            sent += 1
    return sent
