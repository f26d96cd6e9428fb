"""Dashboard use cases (issue 18). Reads only; every figure measured from the facts when asked."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import true
from sqlalchemy.ext.asyncio import AsyncConnection

from sales.allocation import service as allocation_service
from sales.commissions import repository as commissions_repository
from sales.commissions.enums import CommissionStatus
from sales.core.auth import Principal
from sales.core.errors import InvalidInput
from sales.dashboards import repository, rules
from sales.dashboards.errors import DashboardScopeNotFound
from sales.dashboards.schemas import (CommissionFigures, MetricProgress, RmDashboard, SlaFigures, StageFigures)
from sales.pipelines.enums import Stage
from sales.targets import repository as targets_repository
from sales.targets import rules as target_rules
from sales.targets import service as targets_service
from sales.targets.enums import LeaderboardScope, PeriodType, TargetStatus, TargetType

ZERO = Decimal("0.00")


async def _timezone(conn: AsyncConnection, city: str | None) -> str:
    return (await allocation_service.rules_for(conn, city))[0].timezone if city else "UTC"


def _period(period_type: PeriodType, period_start: date | None, timezone: str,
                  now: datetime) -> tuple[date, date]:
    if period_start is None:
        period_start = target_rules.period_start_containing(period_type, target_rules.local_day(now, timezone))
    elif (problem := target_rules.boundary_problem(period_type, period_start)) is not None:
        raise InvalidInput.query(("period_start",), problem)
    return period_start, target_rules.period_end(period_type, period_start)


async def _rm_in_scope(conn: AsyncConnection, principal: Principal, rm_id: UUID) -> Any:
    rm = await targets_repository.rm(conn, rm_id)
    if rm is None or not (principal.is_admin or rm.id == principal.sub or principal.supervises(rm.team_id)):
        raise DashboardScopeNotFound(f"RM {rm_id} not found")
    return rm


async def _targets(conn: AsyncConnection, principal: Principal, rm: Any, period_type: PeriodType, start: date,
                   now: datetime) -> list[MetricProgress]:
    rows = await targets_repository.list_(conn, scope=true(), filters={
        "target_type": TargetType.INDIVIDUAL.value, "assignee_id": rm.id, "period_type": period_type.value,
        "period_start_from": start, "period_start_to": start}, limit=None, after=None)
    measured = [t for t in await targets_service.measure(conn, rows) if t.status is not TargetStatus.CANCELLED]
    result = []
    for target in sorted(measured, key=lambda t: t.metric_type.value):
        rank = size = None
        if rm.team_id is not None:
            board = await targets_service.leaderboard(
                conn, principal, metric_type=target.metric_type, period_type=period_type, period_start=start,
                scope=LeaderboardScope.team, scope_id=str(rm.team_id), now=now)
            size = len(board.items)
            rank = next((row.rank for row in board.items if row.rm_id == rm.id), None)
        result.append(MetricProgress(metric_type=target.metric_type, target_id=target.id,
                                     target_value=target.target_value, achieved_value=target.achieved_value,
                                     achievement_percentage=target.achievement_percentage, status=target.status,
                                     leaderboard_rank=rank, leaderboard_size=size))
    return result


async def _commissions(conn: AsyncConnection, rm_id: UUID, start: date, end: date) -> CommissionFigures:
    found = await commissions_repository.totals_by_status(conn, rm_id, periods=rules.months_of(start, end))

    def total(*statuses: CommissionStatus) -> Decimal:
        return rules.half_up(sum((found.get(s.value, ZERO) for s in statuses), ZERO))

    return CommissionFigures(pending=total(CommissionStatus.PENDING, CommissionStatus.EARNED),
                             approved=total(CommissionStatus.APPROVED), paid=total(CommissionStatus.PAID),
                             disputed=total(CommissionStatus.DISPUTED),
                             clawed_back=total(CommissionStatus.CLAWED_BACK))


def _stages(found: list[tuple[str, int, Decimal]]) -> list[StageFigures]:
    by_stage = {stage: (count, value) for stage, count, value in found}
    return [StageFigures(stage=stage, count=by_stage.get(stage.value, (0, ZERO))[0],
                         deal_value=rules.half_up(by_stage.get(stage.value, (0, ZERO))[1]))
            for stage in Stage if not stage.is_closed]


async def rm_dashboard(conn: AsyncConnection, principal: Principal, *, rm_id: UUID, period_type: PeriodType,
                       period_start: date | None, now: datetime) -> RmDashboard:
    """US-SALE-040: the RM's targets vs achieved (with their team-board rank), commissions, SLA compliance and
    median response time of the period's allocations, and their open pipeline by stage now."""
    rm = await _rm_in_scope(conn, principal, rm_id)
    timezone = await _timezone(conn, rm.city)
    start, end = _period(period_type, period_start, timezone, now)
    window_start, window_end = target_rules.window(start, end, timezone)
    outcomes = [rules.SlaOutcome(r.allocated_at, r.first_action_at, r.sla_deadline)
                for r in await repository.allocations_of(conn, rm.id, window_start, window_end)]
    met, decided, compliance = rules.sla_compliance(outcomes, now)
    return RmDashboard(
        rm_id=rm.id, rm_name=rm.name, team_id=rm.team_id, period_type=period_type, period_start=start,
        period_end=end, as_of=now, targets=await _targets(conn, principal, rm, period_type, start, now),
        commissions=await _commissions(conn, rm.id, start, end),
        sla=SlaFigures(met=met, decided=decided, compliance_percentage=compliance,
                       reason=None if decided else "no allocation of the period is acted on or past its deadline"),
        median_response_minutes=rules.median(rules.response_minutes(outcomes)),
        pipeline_by_stage=_stages(await repository.open_pipelines_by_stage(conn, rm.id)))
