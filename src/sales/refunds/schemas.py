from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from sales.core.fields import Text
from sales.core.money import DecimalNumber, Money
from sales.refunds.enums import RefundStatus


class RuleRead(BaseModel):
    id: str
    passed: bool
    detail: str
    figures: dict[str, Any]


class EligibilityRead(BaseModel):
    order_id: UUID
    type: Literal["REFUND"]
    eligible: bool
    refundable_amount: DecimalNumber
    currency: str
    approval: Literal["AUTO", "SUPPORT_AGENT", "MANAGER"]
    rules: list[RuleRead]
    evaluated_at: datetime
    expected_resolution_by: datetime


class RefundCreate(BaseModel):
    """POST /refunds (issue 12): a REFUND of an order by the CUSTOMER who owns it or a SUPPORT_AGENT on their
    behalf. `amount` defaults to the refundable amount and may not exceed it. (GUARANTEE_CLAIM follows its
    guarantee's terms: not accepted until guarantees are configured.)"""

    model_config = ConfigDict(extra="forbid")

    order_id: UUID
    type: Literal["REFUND"]
    reason: Text = Field(min_length=1, max_length=1000)  # type: ignore[valid-type]
    amount: Money | None = None


class RefundRead(BaseModel):
    id: UUID
    order_id: UUID
    user_id: UUID
    type: Literal["REFUND", "GUARANTEE_CLAIM"]
    status: RefundStatus
    flagged: bool
    reason: str
    requested_amount: DecimalNumber
    refundable_amount: DecimalNumber
    amount: DecimalNumber | None
    approval: Literal["AUTO", "SUPPORT_AGENT", "MANAGER"]
    rules: list[RuleRead]
    requested_by: UUID
    requested_at: datetime
    decided_at: datetime | None
    decided_by: UUID | None
    decision_reason: str | None
    policy_exception: bool = False  # a manager granted an ineligible (REJECTED) request
    expected_resolution_by: datetime
    resolved_at: datetime | None = None
    sla_breached: bool = False  # resolved after expected_resolution_by, or still open past it
    created_at: datetime
    updated_at: datetime


class TimelineEntry(BaseModel):
    """One step of a refund (RBI-style timeline): REQUESTED, AUTO_APPROVED, APPROVED, REJECTED, SENT_TO_BILLING,
    MONEY_RETURNED. `actor_id` is null for a step of the rules (actor_role SYSTEM) or of Billing (BILLING)."""

    kind: str
    status: RefundStatus
    at: datetime
    actor_id: UUID | None
    actor_role: str
    note: str | None
    data: dict[str, Any] | None


class RefundDetail(RefundRead):
    timeline: list[TimelineEntry]


class RefundApprove(BaseModel):
    """POST /refunds/{id}/approve. `amount` defaults to the amount asked for and may not exceed what the rules
    allowed (nor paid minus refunded). On a REJECTED request this is a manager's policy exception: `reason` is
    then required."""

    model_config = ConfigDict(extra="forbid")

    amount: Money | None = None
    reason: Text | None = Field(default=None, min_length=1, max_length=1000)  # type: ignore[valid-type]


class RefundReject(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Text = Field(min_length=1, max_length=1000)  # type: ignore[valid-type]
