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
    expected_resolution_by: datetime
    created_at: datetime
    updated_at: datetime
