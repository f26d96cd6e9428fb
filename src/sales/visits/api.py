"""/api/v1/sales/pipelines/{id}/visit-plans and /visit-plans (issue 15)."""
from __future__ import annotations

from uuid import UUID

from sales.core.http import Conn, Now, make_router, respond
from sales.core.openapi import problem_response
from sales.visits import service
from sales.visits.permissions import VisitPlansRead, VisitPlansWrite
from sales.visits.schemas import StopOutcome, StopRead, VisitPlanCreate, VisitPlanRead

router = make_router(tags=["visits"])

INFEASIBLE = problem_response("`infeasible`: `infeasible_stops` [{index, listing_id, reason}] cannot be met; "
                              "`best_plan` plans the others (or a field named in `errors`)")


TRAVEL = problem_response("The travel-time provider failed or answered an unusable matrix")


@router.post("/pipelines/{pipeline_id}/visit-plans", status_code=201, response_model=VisitPlanRead,
             responses={409: problem_response("The pipeline is closed"), 422: INFEASIBLE, 502: TRAVEL})
async def create_visit_plan(pipeline_id: UUID, data: VisitPlanCreate, principal: VisitPlansWrite, conn: Conn,
                            now: Now):
    """Order the stops for the least total time (travel + waiting) within the customer's and the owners'
    windows, request each visit from Scheduling and move the pipeline to VISIT_SCHEDULED."""
    return respond(await service.create_plan(conn, principal, pipeline_id=pipeline_id, data=data, now=now), 201)


@router.get("/visit-plans/{plan_id}", response_model=VisitPlanRead)
async def get_visit_plan(plan_id: UUID, principal: VisitPlansRead, conn: Conn):
    """The plan with its itinerary (arrival, start, end, travel from the previous stop) and unscheduled stops."""
    return respond(await service.get_plan(conn, principal, plan_id=plan_id))


@router.post("/visit-plans/{plan_id}/replan", response_model=VisitPlanRead,
             responses={409: problem_response("The plan is completed or changed meanwhile"), 422: INFEASIBLE,
                        502: TRAVEL})
async def replan_visit_plan(plan_id: UUID, principal: VisitPlansWrite, conn: Conn, now: Now):
    """Re-plan the stops not yet visited from now, with the owners' latest availability."""
    return respond(await service.replan(conn, principal, plan_id=plan_id, now=now))


@router.patch("/visit-plans/{plan_id}/stops/{stop_id}", response_model=StopRead,
              responses={409: problem_response("The stop was declined or unscheduled")})
async def record_stop_outcome(plan_id: UUID, stop_id: UUID, data: StopOutcome, principal: VisitPlansWrite,
                              conn: Conn, now: Now):
    """The visit's outcome (interested, rating 1-5, notes): the stop is COMPLETED; the last one moves the
    pipeline to VISIT_COMPLETED and makes a VISIT_FOLLOW_UP task."""
    return respond(await service.record_outcome(conn, principal, plan_id=plan_id, stop_id=stop_id, data=data,
                                                now=now))
