"""Pipeline API contract (PRD §3.2.1, §7.3)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from sales.core.fields import Date, Text, bounded_integer
from sales.core.money import DecimalNumber, Money
from sales.pipelines.enums import Outcome, Source, Stage

Probability = bounded_integer(ge=0, le=100)
Notes = Annotated[Text, Field(max_length=10000)]
Reason = Annotated[Text, Field(max_length=1000)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PipelineCreate(_Strict):
    lead_id: UUID
    rm_id: UUID
    source: Source
    deal_value: Money | None = None
    probability: Probability | None = Field(default=None, description="defaults to the stage's probability")
    expected_close_date: Date | None = None
    notes: Notes | None = None


class PipelineUpdate(_Strict):
    """Fields given replace the stored ones. The stage changes only through PATCH /{id}/stage."""

    source: Source | None = None
    deal_value: Money | None = None
    probability: Probability | None = None
    expected_close_date: Date | None = None
    notes: Notes | None = None


class StageChange(_Strict):
    stage: Stage
    reason: Reason | None = None
    loss_reason: Annotated[Reason, Field(min_length=1)] | None = None
    deal_value: Money | None = None


class CustomerSummary(BaseModel):
    id: UUID | None
    name: str | None
    phone: str | None
    email: str | None


class RMSummary(BaseModel):
    id: UUID
    name: str
    team: str | None


class PipelineRead(BaseModel):
    id: UUID
    lead_id: UUID
    rm_id: UUID
    stage: Stage
    source: Source
    deal_value: DecimalNumber | None
    probability: int | None
    expected_close_date: date | None
    actual_close_date: date | None
    outcome: Outcome
    loss_reason: str | None
    notes: str | None
    created_at: datetime
    updated_at: datetime
    stage_changed_at: datetime
    sla_deadline: datetime
    customer: CustomerSummary | None
    rm: RMSummary


class StageHistoryEntry(BaseModel):
    from_stage: Stage | None
    to_stage: Stage
    changed_by: UUID | None
    changed_at: datetime
    reason: str | None


class StageStats(BaseModel):
    count: int
    deal_value: DecimalNumber


class PipelineStats(BaseModel):
    stages: dict[Stage, StageStats]
    total_count: int
    open_count: int
    total_deal_value: DecimalNumber
    weighted_pipeline_value: DecimalNumber = Field(
        description="sum of deal_value x probability/100 over open pipelines")
    won_count: int
    lost_count: int
    win_rate: DecimalNumber | None = Field(description="won / (won + lost) as a percentage; null with no closed deals")
    avg_cycle_time_days: DecimalNumber | None = Field(description="mean days from creation to close of closed deals")
    overdue_count: int = Field(description="open pipelines whose expected_close_date has passed")


class CustomerPipeline(BaseModel):
    """One open pipeline of a customer, with its RM (the customer context, issue 10 §3)."""

    id: UUID
    lead_id: UUID
    rm_id: UUID
    rm_name: str
    rm_team_id: UUID | None
    team_name: str | None
    stage: Stage
    source: Source
    deal_value: DecimalNumber | None
    probability: int | None
    expected_close_date: date | None
    created_at: datetime
    stage_changed_at: datetime
