from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from sales.commissions.enums import CommissionStatus, CommissionType, DisputeOutcome, LineKind, PlanKey
from sales.core.fields import Text, UTCDatetime, bounded_text
from sales.core.money import DecimalNumber, Money

Percent = Annotated[Money, Field(le=1000)]
Period = bounded_text(7, min_length=7, pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")
DEFAULT_EXCEPTION_ABOVE = Decimal("25000.00")
Reason = Annotated[Text, Field(min_length=1, max_length=1000)]


class TierWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_achievement: Percent = Field(description="percent of the RM's monthly REVENUE target from which this tier "
                                                 "applies (inclusive); the first tier starts at 0")
    rate: Percent = Field(description="commission rate in percent of the sale")


class PlanCreate(BaseModel):
    """A new version of the plan for `plan_key` (a transaction type, or TEAM_BONUS). Earlier versions and the
    lines calculated with them never change."""

    model_config = ConfigDict(extra="forbid")

    plan_key: PlanKey
    commission_type: CommissionType
    amount: Money | None = Field(default=None, description="FIXED: per transaction; BONUS: per team member")
    rate: Percent | None = Field(default=None, description="PERCENTAGE: percent of the sale")
    tiers: list[TierWrite] | None = Field(default=None, max_length=20, description="TIERED (CMR-003)")
    exception_above: Money = Field(default=DEFAULT_EXCEPTION_ABOVE,
                                   description="lines above this amount need a second approver")
    effective_from: UTCDatetime | None = Field(default=None, description="sales from this instant use this "
                                                                         "version; default now")
    notes: Annotated[Text, Field(max_length=1000)] | None = None


class TierRead(BaseModel):
    min_achievement: DecimalNumber
    rate: DecimalNumber


class PlanRead(BaseModel):
    id: UUID
    plan_key: PlanKey
    version: int
    commission_type: CommissionType
    amount: DecimalNumber | None
    rate: DecimalNumber | None
    tiers: list[TierRead] | None
    exception_above: DecimalNumber
    effective_from: datetime
    notes: str | None
    created_by: UUID
    created_at: datetime


class Explanation(BaseModel):
    text: str
    inputs: dict[str, Any]


class CommissionRead(BaseModel):
    id: UUID
    rm_id: UUID
    transaction_id: UUID
    transaction_type: str
    commission_type: CommissionType
    kind: LineKind
    base_amount: DecimalNumber
    commission_rate: DecimalNumber
    commission_amount: DecimalNumber
    adjustments: DecimalNumber | None
    final_amount: DecimalNumber
    status: CommissionStatus
    period: str
    sale_at: datetime
    earned_at: datetime
    plan_id: UUID | None
    plan_version: int | None
    rule: str
    explanation: Explanation
    corrects_id: UUID | None
    reason: str | None
    exception: bool
    exception_reasons: list[str]
    approved_by: UUID | None
    approved_at: datetime | None
    second_approved_by: UUID | None
    second_approved_at: datetime | None
    paid_at: datetime | None
    payout_reference: str | None
    clawback_reason: str | None
    disputed_at: datetime | None
    dispute_reason: str | None
    dispute_outcome: DisputeOutcome | None
    dispute_resolution: str | None
    dispute_resolved_by: UUID | None
    dispute_resolved_at: datetime | None
    created_at: datetime
    updated_at: datetime


class BatchApprove(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: list[UUID] = Field(min_length=1, max_length=500)


class BatchItem(BaseModel):
    id: UUID
    outcome: str = Field(description="APPROVED, FIRST_APPROVAL (an exception waiting for its second approver), "
                                     "or the error code that stopped the batch")
    status: CommissionStatus | None
    detail: str | None


class BatchResult(BaseModel):
    items: list[BatchItem]


class DisputeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason


class DisputeResolve(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: DisputeOutcome
    amount: Money | None = Field(default=None, description="UPHELD: the further commission owed (required)")
    reason: Reason


class PayoutCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period: Period  # type: ignore[valid-type]
    reference: Annotated[Text, Field(min_length=1, max_length=128)]


class PayoutRead(BaseModel):
    id: UUID
    period: str
    reference: str
    lines: int
    total: DecimalNumber
    created_by: UUID
    created_at: datetime


class PayoutRow(BaseModel):
    rm_id: UUID
    rm_name: str
    lines: int
    payable_amount: DecimalNumber
    paid_amount: DecimalNumber
    payout_references: list[str]


class PayoutReport(BaseModel):
    period: str
    rows: list[PayoutRow]
    payable_total: DecimalNumber
    paid_total: DecimalNumber


class Totals(BaseModel):
    pending: DecimalNumber
    earned: DecimalNumber
    approved: DecimalNumber
    paid: DecimalNumber
    disputed: DecimalNumber
    clawed_back: DecimalNumber


class Summary(BaseModel):
    rm_id: UUID
    month: str
    year: int
    this_month: Totals
    this_year: Totals
    as_of: datetime
