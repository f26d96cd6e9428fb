"""/api/v1/sales/targets (PRD §3.2.4, §7.2; issue 13)."""
from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Depends, Query

from sales.core.fields import Date, Text
from sales.core.http import Conn, Now, Page, Paging, make_router, page_of, respond
from sales.core.openapi import problem_response
from sales.targets import service
from sales.targets.enums import LeaderboardScope, MetricType, PeriodType, TargetStatus, TargetType
from sales.targets.permissions import TargetsRead, TargetsWrite
from sales.targets.schemas import Leaderboard, TargetCreate, TargetRead, TargetUpdate, TeamTargets

router = make_router(tags=["targets"])


async def target_filters(target_type: TargetType | None = None, assignee_id: UUID | None = None,
                         period_type: PeriodType | None = None, metric_type: MetricType | None = None,
                         status: TargetStatus | None = None, period_start_from: Date | None = None,
                         period_start_to: Date | None = None) -> dict:
    return {"target_type": target_type.value if target_type else None, "assignee_id": assignee_id,
            "period_type": period_type.value if period_type else None,
            "metric_type": metric_type.value if metric_type else None, "status": status.value if status else None,
            "period_start_from": period_start_from, "period_start_to": period_start_to}


Filters = Annotated[dict, Depends(target_filters)]


@router.post("/targets", status_code=201, response_model=TargetRead,
             responses={409: problem_response("The assignee already has a live target for this metric and period")})
async def create_target(data: TargetCreate, principal: TargetsWrite, conn: Conn, now: Now):
    """Set a target (SALES_ADMIN; a SUPERVISOR for their teams and their teams' RMs). Its progress is measured at
    once; audited."""
    return respond(await service.create_target(conn, principal, data=data, now=now), 201)


@router.get("/targets", response_model=Page[TargetRead])
async def list_targets(principal: TargetsRead, conn: Conn, paging: Paging, filters: Filters):
    """Targets in the caller's scope, latest period first (`period_start_from` / `_to` inclusive), each measured
    from the facts now."""
    items = await service.list_targets(conn, principal, filters=filters, limit=paging.limit, cursor=paging.cursor)
    return respond(page_of(items, paging.limit, service.cursor_of))


@router.get("/targets/leaderboard", response_model=Leaderboard,
            responses={404: problem_response("No such team or city in the caller's scope")})
async def leaderboard(principal: TargetsRead, conn: Conn, now: Now, metric_type: MetricType,
                      period_type: PeriodType, scope: LeaderboardScope,
                      scope_id: Annotated[Text, Query(min_length=1, max_length=100,
                                                      description="a team's id, or a city's name or id")],
                      period_start: Date | None = None):
    """The scope's RMs with a target for the metric and period (default: the period running now), ranked by
    achievement_percentage then achieved_value; ties share a rank (1, 1, 3)."""
    return respond(await service.leaderboard(conn, principal, metric_type=metric_type, period_type=period_type,
                                             period_start=period_start, scope=scope, scope_id=scope_id, now=now))


@router.get("/targets/rm/{rm_id}", response_model=Page[TargetRead],
            responses={404: problem_response("No such RM in the caller's scope")})
async def rm_targets(rm_id: UUID, principal: TargetsRead, conn: Conn, paging: Paging, filters: Filters):
    """An RM's own targets (the RM, their supervisor, SALES_ADMIN, FINANCE_ADMIN), latest period first."""
    items = await service.rm_targets(conn, principal, rm_id=rm_id, filters=filters, limit=paging.limit,
                                     cursor=paging.cursor)
    return respond(page_of(items, paging.limit, service.cursor_of))


@router.get("/targets/team/{team_id}", response_model=TeamTargets,
            responses={404: problem_response("No such team in the caller's scope")})
async def team_targets(team_id: UUID, principal: TargetsRead, conn: Conn):
    """The team's targets and each current member's, latest period first."""
    return respond(await service.team_targets(conn, principal, team_id=team_id))


@router.get("/targets/{target_id}", response_model=TargetRead,
            responses={404: problem_response("No such target in the caller's scope")})
async def get_target(target_id: UUID, principal: TargetsRead, conn: Conn):
    """The target with its figures and status measured from the facts now."""
    return respond(await service.get_target(conn, principal, target_id=target_id))


@router.put("/targets/{target_id}", response_model=TargetRead,
            responses={404: problem_response("No such target in the caller's scope"),
                       409: problem_response("The target is cancelled or settled, or changed meanwhile")})
async def update_target(target_id: UUID, data: TargetUpdate, principal: TargetsWrite, conn: Conn, now: Now):
    """Change `target_value` and/or cancel (`status: CANCELLED`); audited."""
    return respond(await service.update_target(conn, principal, target_id=target_id, data=data, now=now))
