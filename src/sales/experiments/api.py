"""/api/v1/sales/upsells/experiments (issue 16; PRD §7.2). Mounted before the upsell router, whose
/upsells/{upsell_id} would otherwise take /upsells/experiments."""
from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Query

from sales.core.http import Conn, Now, Page, Paging, make_router, page_of, respond
from sales.core.openapi import problem_response
from sales.experiments import service
from sales.experiments.enums import ExperimentStatus
from sales.experiments.permissions import ExperimentsManage
from sales.experiments.schemas import (AssignmentRead, ConcludeRequest, ExperimentCreate, ExperimentRead,
                                       ExperimentUpdate, ResultsRead, TriggerEvent)

router = make_router(tags=["upsell experiments"])
BASE = "/upsells/experiments"
NOT_FOUND = {404: problem_response("No such experiment")}


@router.post(BASE, status_code=201, response_model=ExperimentRead)
async def create_experiment(data: ExperimentCreate, principal: ExperimentsManage, conn: Conn, now: Now):
    """Create a DRAFT experiment on an upsell trigger; `minimum_sample_per_variant` comes from a power
    calculation (alpha 0.05, power 0.8) on `baseline_rate` and `minimum_detectable_effect`."""
    return respond(await service.create_experiment(conn, principal, data=data, now=now), 201)


@router.get(BASE, response_model=Page[ExperimentRead])
async def list_experiments(principal: ExperimentsManage, conn: Conn, paging: Paging,
                           status: ExperimentStatus | None = None,
                           trigger: Annotated[TriggerEvent | None, Query()] = None):  # type: ignore[valid-type]
    """Experiments, newest first."""
    items = await service.list_experiments(conn, status=status, trigger=trigger, limit=paging.limit,
                                           cursor=paging.cursor)
    return respond(page_of(items, paging.limit, service.cursor_of))


@router.get(BASE + "/{experiment_id}", response_model=ExperimentRead, responses=NOT_FOUND)
async def get_experiment(experiment_id: UUID, principal: ExperimentsManage, conn: Conn):
    return respond(await service.get_experiment(conn, experiment_id=experiment_id))


@router.put(BASE + "/{experiment_id}", response_model=ExperimentRead, responses={
    **NOT_FOUND, 409: problem_response("Not a DRAFT (variants), a status change not allowed, the trigger driven by "
                                       "another experiment, or a stale `version`")})
async def update_experiment(experiment_id: UUID, data: ExperimentUpdate, principal: ExperimentsManage, conn: Conn,
                            now: Now):
    """Change an experiment (audited): `status` RUNNING starts a DRAFT, STOPPED stops a RUNNING one; trigger, seed,
    variants and coverage change only in DRAFT."""
    return respond(await service.update_experiment(conn, principal, experiment_id=experiment_id, data=data,
                                                   now=now))


@router.get(BASE + "/{experiment_id}/assignment/{user_id}", response_model=AssignmentRead, responses=NOT_FOUND)
async def get_assignment(experiment_id: UUID, user_id: UUID, principal: ExperimentsManage, conn: Conn):
    """A user's variant: GrowthBook hash v2 of seed + user id mapped through the bucket ranges (sticky)."""
    return respond(await service.get_assignment(conn, experiment_id=experiment_id, user_id=user_id))


@router.get(BASE + "/{experiment_id}/results", response_model=ResultsRead, responses=NOT_FOUND)
async def get_results(experiment_id: UUID, principal: ExperimentsManage, conn: Conn, now: Now):
    """Exposed users, conversions, rates and revenue per variant; lift with CI and p-value (frequentist), chance to
    win and credible interval (Bayesian), the always-valid sequential p-value, SRM and guardrails."""
    return respond(await service.results(conn, experiment_id=experiment_id, now=now))


@router.post(BASE + "/{experiment_id}/conclude", response_model=ExperimentRead, responses={
    **NOT_FOUND, 409: problem_response("Not RUNNING, or not supported by the data (`blockers`) without a `reason`")})
async def conclude(experiment_id: UUID, data: ConcludeRequest, principal: ExperimentsManage, conn: Conn, now: Now):
    """Conclude with a winner; a treatment winner then rolls out 10% -> 50% -> 100% (job experiment-rollout)."""
    return respond(await service.conclude(conn, principal, experiment_id=experiment_id, data=data, now=now))
