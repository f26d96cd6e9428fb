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


class TrendPoint(BaseModel):
    period_start: date
    period_end: date
    achieved_value: DecimalNumber


class MetricTrend(BaseModel):
    """A metric measured as its target would be, over the 12 periods ending with the one asked (oldest first)."""

    metric_type: MetricType
    points: list[TrendPoint]


class RmDashboard(BaseModel):
    rm_id: UUID
    rm_name: str
    team_id: UUID | None
    period_type: PeriodType
    period_start: date
    period_end: date
    as_of: datetime
    targets: list[MetricProgress]
    trend: list[MetricTrend]
    commissions: CommissionFigures
    sla: SlaFigures
    median_response_minutes: DecimalNumber | None
    pipeline_by_stage: list[StageFigures]


class Kpi(BaseModel):
    """A KPI of the period against its PRD target (`target`: "> 5", "< 14", "70-85"); `value` and `met` are null
    with a `reason` when there is nothing to measure."""

    value: DecimalNumber | None
    target: str
    met: bool | None
    reason: str | None = None


class Kpis(BaseModel):
    """PRD §9.1 and §9.3 KPIs (percentages in %, the cycle in days, the response time in minutes). The forecast
    accuracy is that of the monthly forecast's back-test over the last 6 completed months, whatever the period.
    Upsell conversion: of the upsells presented in the period, the share converted (at any time since); an upsell
    counts for the RM of the user's latest pipeline created at or before its presentation."""

    upsell_conversion_percentage: Kpi
    lead_to_close_percentage: Kpi
    deal_cycle_days: Kpi
    rm_utilization_percentage: Kpi
    sla_compliance_percentage: Kpi
    commission_accuracy_percentage: Kpi
    refund_rate_percentage: Kpi
    lead_response_minutes: Kpi
    workload_variance_percentage: Kpi
    forecast_accuracy_percentage: Kpi  # the monthly forecast's back-test over the last 6 completed months


class FunnelStage(BaseModel):
    """Distinct pipelines that moved into the stage in the period."""

    stage: Stage
    count: int


class StageHealth(BaseModel):
    stage: Stage
    count: int
    average_age_days: DecimalNumber | None
    stuck: int


class PipelineHealth(BaseModel):
    """Open pipelines now: age in their stage; `stuck` = in the stage longer than `stuck_after_days`; overdue =
    expected close date before today (the scope's city)."""

    stuck_after_days: int
    stages: list[StageHealth]
    stuck: int
    overdue_expected_close: int


class MemberLoad(BaseModel):
    rm_id: UUID
    rm_name: str
    open_pipelines: int
    capacity: int
    utilization_percentage: DecimalNumber | None


class ScopeDashboard(BaseModel):
    scope: str
    scope_id: str
    name: str
    city: str
    period_type: PeriodType
    period_start: date
    period_end: date
    as_of: datetime
    members: int
    kpis: Kpis
    funnel: list[FunnelStage]
    pipeline_health: PipelineHealth
    workload: list[MemberLoad]


class ForecastFigures(BaseModel):
    """Expected won deal value of the period running now: `won_to_date` (won since it began) plus
    `expected_from_open` (the open pipelines now, each deal value x P(won | its stage) x the share of such wins that
    came within the days left), with a 95% interval on the open part."""

    period_start: date
    period_end: date
    won_to_date: DecimalNumber
    expected_from_open: DecimalNumber
    expected_total: DecimalNumber
    low: DecimalNumber
    high: DecimalNumber
    open_pipelines: int
    unscored_pipelines: int


class BacktestPeriod(BaseModel):
    """The forecast made at the period's start (learning only from pipelines closed before it, for the pipelines
    open then) against the deal value actually won in the period."""

    period_start: date
    period_end: date
    forecast: DecimalNumber
    actual: DecimalNumber
    accuracy_percentage: DecimalNumber | None


class ForecastRead(BaseModel):
    scope: str
    scope_id: str
    as_of: datetime
    min_cell: int
    month: ForecastFigures
    quarter: ForecastFigures
    backtest_period_type: PeriodType
    backtest: list[BacktestPeriod]
    backtest_accuracy_percentage: DecimalNumber | None
    accuracy_target: str
    accuracy_met: bool | None
