"""Targets in the console (issue 13): an RM's targets with progress bars and their team's leaderboard; a
supervisor's team leaderboards and team targets. The same use cases as GET /targets and GET /targets/leaderboard,
in the request's transaction, with the session's principal."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from sales.console.web import Ctx, render, roles
from sales.core.auth import Role
from sales.core.http import Conn, Now
from sales.targets import service as targets_service
from sales.targets.enums import LeaderboardScope, MetricType, PeriodType

router = APIRouter()
PAGE_ROLES = (Role.RM, Role.SUPERVISOR, Role.SALES_ADMIN, Role.FINANCE_ADMIN)  # as GET /targets
TargetsReader = Annotated[Ctx, Depends(roles(*PAGE_ROLES))]
LIMIT = 100
METRIC_LABELS = {MetricType.REVENUE: "Revenue", MetricType.DEALS_CLOSED: "Deals closed",
                 MetricType.LEADS_CONTACTED: "Leads contacted", MetricType.VISITS_SCHEDULED: "Visits scheduled",
                 MetricType.CONVERSION_RATE: "Conversion rate", MetricType.UPSELL_CONVERSIONS: "Upsell conversions",
                 MetricType.CUSTOMER_SATISFACTION: "Customer satisfaction"}
PERIOD_LABELS = {PeriodType.DAILY: "Today", PeriodType.WEEKLY: "This week", PeriodType.MONTHLY: "This month",
                 PeriodType.QUARTERLY: "This quarter"}


def _choice(raw: str | None, choices: Any, default: Any) -> Any:
    return next((c for c in choices if c.value == raw), default)


@router.get("/targets", include_in_schema=False)
async def targets_page(request: Request, ctx: TargetsReader, conn: Conn, now: Now) -> Response:
    q = request.query_params
    metric = _choice(q.get("metric_type"), MetricType, MetricType.REVENUE)
    period = _choice(q.get("period_type"), PeriodType, PeriodType.MONTHLY)
    filters = {"target_type": "INDIVIDUAL" if ctx.role == Role.RM else None}
    targets = await targets_service.list_targets(conn, ctx.principal, filters=filters, limit=LIMIT, cursor=None)
    boards = [(team, await targets_service.leaderboard(conn, ctx.principal, metric_type=metric, period_type=period,
                                                       period_start=None, scope=LeaderboardScope.team,
                                                       scope_id=str(team.id), now=now))
              for team in await targets_service.own_teams(conn, ctx.principal)]
    return render(request, "targets.html", ctx, targets=targets[:LIMIT], boards=boards, metric=metric,
                  period=period, metric_labels=METRIC_LABELS, period_labels=PERIOD_LABELS, now=now)
