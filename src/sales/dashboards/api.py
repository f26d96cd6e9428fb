"""/api/v1/sales/dashboards (issue 18, PRD §2.2.6, §9)."""
from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Query

from sales.core.fields import City, Date, Text
from sales.core.http import Conn, Now, make_router, respond
from sales.core.openapi import problem_response
from sales.dashboards import service
from sales.dashboards.enums import ForecastPeriod
from sales.dashboards.permissions import DashboardManage, DashboardRead
from sales.dashboards.schemas import ForecastRead, RmDashboard, ScopeDashboard
from sales.targets.enums import LeaderboardScope, PeriodType

router = make_router(tags=["dashboards"])


@router.get("/dashboards/forecast", response_model=ForecastRead,
            responses={404: problem_response("No such team or city in the caller's scope")})
async def forecast(principal: DashboardManage, conn: Conn, now: Now, scope: LeaderboardScope,
                   scope_id: Annotated[Text, Query(min_length=1, max_length=100,
                                                   description="a team's id, or a city's name")],
                   period: ForecastPeriod = ForecastPeriod.MONTHLY):
    """Expected won deal value of the month and the quarter running now for a team or a city (SALES_ADMIN; a
    SUPERVISOR of the team / of a team in the city), learned from closed pipelines per city and stage, with a 95%
    interval and a back-test of the last six periods (`period`: MONTHLY or QUARTERLY)."""
    return respond(await service.forecast(conn, principal, scope=scope, scope_id=scope_id, period_type=PeriodType(period.value),
                                          now=now))


@router.get("/dashboards/rm/{rm_id}", response_model=RmDashboard,
            responses={404: problem_response("No such RM in the caller's scope")})
async def rm_dashboard(rm_id: UUID, principal: DashboardRead, conn: Conn, now: Now,
                       period_type: PeriodType = PeriodType.MONTHLY, period_start: Date | None = None):
    """An RM's dashboard (the RM, their SUPERVISOR, SALES_ADMIN) for a period (default: the month running now in
    the RM's city; `period_start` must begin a period)."""
    return respond(await service.rm_dashboard(conn, principal, rm_id=rm_id, period_type=period_type,
                                              period_start=period_start, now=now))


@router.get("/dashboards/team/{team_id}", response_model=ScopeDashboard,
            responses={404: problem_response("No such team in the caller's scope")})
async def team_dashboard(team_id: UUID, principal: DashboardManage, conn: Conn, now: Now,
                         period_type: PeriodType = PeriodType.MONTHLY, period_start: Date | None = None):
    """A team's PRD §9.1 / §9.3 KPIs with their targets, funnel, pipeline health and workload balance
    (SALES_ADMIN; the team's SUPERVISOR) for a period (default: the month running now in the team's city)."""
    return respond(await service.team_dashboard(conn, principal, team_id=team_id, period_type=period_type,
                                                period_start=period_start, now=now))


@router.get("/dashboards/city/{city}", response_model=ScopeDashboard,
            responses={404: problem_response("No such city in the caller's scope")})
async def city_dashboard(city: City, principal: DashboardManage, conn: Conn, now: Now,
                         period_type: PeriodType = PeriodType.MONTHLY, period_start: Date | None = None):
    """A city's PRD §9.1 / §9.3 KPIs (SALES_ADMIN; a SUPERVISOR of a team in the city), as for a team."""
    return respond(await service.city_dashboard(conn, principal, city=city, period_type=period_type,
                                                period_start=period_start, now=now))
