from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel

from sales.core.money import DecimalNumber


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
