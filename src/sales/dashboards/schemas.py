"""Dashboard read models (issue 18). Money and percentages are Decimal, 2 places."""
from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel

from sales.core.money import DecimalNumber
from sales.pipelines.enums import Stage
from sales.targets.enums import MetricType, PeriodType, TargetStatus


class MetricProgress(BaseModel):
    """One of the RM's targets for the period, measured now, with the RM's place on their team's board for it."""

    metric_type: MetricType
    target_id: UUID
    target_value: DecimalNumber
    achieved_value: DecimalNumber
    achievement_percentage: DecimalNumber
    status: TargetStatus
    leaderboard_rank: int | None
    leaderboard_size: int | None


class CommissionFigures(BaseModel):
    """The RM's commission lines of the months the period overlaps, summed: `pending` is not yet approved
    (PENDING and EARNED lines)."""

    pending: DecimalNumber
    approved: DecimalNumber
    paid: DecimalNumber
    disputed: DecimalNumber
    clawed_back: DecimalNumber


class SlaFigures(BaseModel):
    """Allocations made in the period: `decided` = acted on, or past their deadline; `met` = acted on by the
    deadline; `compliance_percentage` = met / decided x 100 (null with a `reason` when nothing is decided)."""

    met: int
    decided: int
    compliance_percentage: DecimalNumber | None
    reason: str | None = None


class StageFigures(BaseModel):
    stage: Stage
    count: int
    deal_value: DecimalNumber


class RmDashboard(BaseModel):
    rm_id: UUID
    rm_name: str
    team_id: UUID | None
    period_type: PeriodType
    period_start: date
    period_end: date
    as_of: datetime
    targets: list[MetricProgress]
    commissions: CommissionFigures
    sla: SlaFigures
    median_response_minutes: DecimalNumber | None
    pipeline_by_stage: list[StageFigures]
