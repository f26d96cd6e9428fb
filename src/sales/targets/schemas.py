"""Target API contract (PRD §3.2.4, §7.2; issue 13) and the consumed crm.csat.recorded payload."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from sales.core.fields import City, Date, UTCDatetime
from sales.core.money import DecimalNumber, Money
from sales.targets.enums import MetricType, PeriodType, TargetStatus, TargetType


class TargetCreate(BaseModel):
    """POST /targets. `assignee_id` names the RM (INDIVIDUAL) or the team (TEAM); a CITY target names its `city`
    (its `assignee_id`, if given, must be that city's id). `period_end` follows from `period_type` and
    `period_start`, which must begin a period (WEEKLY: a Monday; MONTHLY: the 1st; QUARTERLY: 1 Jan/Apr/Jul/Oct).
    `target_value`: rupees for REVENUE, a whole number for counts, a percentage (<= 100) for CONVERSION_RATE, a
    score (<= 10) for CUSTOMER_SATISFACTION."""

    model_config = ConfigDict(extra="forbid")

    target_type: TargetType
    assignee_id: UUID | None = None
    city: City | None = None
    period_type: PeriodType
    period_start: Date
    metric_type: MetricType
    target_value: Money


class TargetUpdate(BaseModel):
    """PUT /targets/{id}: a new `target_value` (the progress is measured against it at once) and/or
    `status: CANCELLED`."""

    model_config = ConfigDict(extra="forbid")

    target_value: Money | None = None
    status: Literal["CANCELLED"] | None = None


class TargetRead(BaseModel):
    id: UUID
    target_type: TargetType
    assignee_id: UUID
    city: str | None
    period_type: PeriodType
    period_start: date
    period_end: date
    metric_type: MetricType
    target_value: DecimalNumber
    achieved_value: DecimalNumber
    achievement_percentage: DecimalNumber
    status: TargetStatus
    closed_at: datetime | None
    created_by: UUID
    created_at: datetime
    updated_at: datetime


class TeamTargets(BaseModel):
    team_id: UUID
    team_targets: list[TargetRead]
    member_targets: list[TargetRead]


class LeaderboardRow(BaseModel):
    rank: int
    rm_id: UUID
    rm_name: str
    target_id: UUID
    target_value: DecimalNumber
    achieved_value: DecimalNumber
    achievement_percentage: DecimalNumber
    status: TargetStatus


class Leaderboard(BaseModel):
    scope: Literal["team", "city"]
    scope_id: str
    metric_type: MetricType
    period_type: PeriodType
    period_start: date
    period_end: date
    items: list[LeaderboardRow]


Score = Annotated[Decimal, Field(ge=0, le=10, decimal_places=2, allow_inf_nan=False)]


class CsatRecorded(BaseModel):
    """crm.csat.recorded: a customer's satisfaction score (0-10: a 1-5 CSAT or a 0-10 NPS answer) for an RM."""

    model_config = ConfigDict(extra="ignore")

    rm_id: UUID
    pipeline_id: UUID | None = None
    score: Score
    at: UTCDatetime
