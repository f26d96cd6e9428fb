from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sales.core.fields import Text, bounded_integer, bounded_text
from sales.core.files import TrackedStore
from sales.core.money import DecimalNumber, Money
from sales.refunds.enums import RefundStatus, RefundType


class RuleRead(BaseModel):
    id: str
    passed: bool
    detail: str
    figures: dict[str, Any]


class EligibilityRead(BaseModel):
    order_id: UUID
    type: RefundType
    eligible: bool
    refundable_amount: DecimalNumber
    currency: str
    approval: Literal["AUTO", "SUPPORT_AGENT", "MANAGER"]
    rules: list[RuleRead]
    evaluated_at: datetime
    expected_resolution_by: datetime


class RefundCreate(BaseModel):
    """POST /refunds (issue 12): a REFUND (RFR-001..006) or a GUARANTEE_CLAIM (its plan's guarantee's terms) of
    an order by the CUSTOMER who owns it or a SUPPORT_AGENT on their behalf. `amount` defaults to the
    refundable amount and may not exceed it."""

    model_config = ConfigDict(extra="forbid")

    order_id: UUID
    type: RefundType
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


class EvidenceRead(BaseModel):
    id: UUID
    refund_id: UUID
    kind: str | None
    note: str | None
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_by: UUID
    uploaded_at: datetime


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
    evidence: list[EvidenceRead] = []


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


EvidenceKind = bounded_text(64, min_length=1, pattern=r"^[a-z0-9_]+$")


class GuaranteeCondition(BaseModel):
    """What the guarantee promises, e.g. {"metric": "owner_responses", "lt": 3, "within_days": 10}: fewer than
    3 owners respond within 10 days. Exactly one comparison (lt, lte, gt, gte). Checked by the investigation
    on the evidence (Sales holds no owner-response data)."""

    model_config = ConfigDict(extra="forbid")

    metric: EvidenceKind  # type: ignore[valid-type]
    lt: bounded_integer(ge=0, le=1_000_000) | None = None  # type: ignore[valid-type]
    lte: bounded_integer(ge=0, le=1_000_000) | None = None  # type: ignore[valid-type]
    gt: bounded_integer(ge=0, le=1_000_000) | None = None  # type: ignore[valid-type]
    gte: bounded_integer(ge=0, le=1_000_000) | None = None  # type: ignore[valid-type]
    within_days: bounded_integer(ge=1, le=365) | None = None  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _one_comparison(self) -> "GuaranteeCondition":
        if sum(v is not None for v in (self.lt, self.lte, self.gt, self.gte)) != 1:
            raise ValueError("needs exactly one of lt, lte, gt, gte")
        return self


class GuaranteeWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plan_id: UUID
    description: Text = Field(min_length=1, max_length=500)  # type: ignore[valid-type]
    window_days: bounded_integer(ge=1, le=365)  # type: ignore[valid-type]
    condition: GuaranteeCondition
    refund_percentage: bounded_integer(ge=1, le=100)  # type: ignore[valid-type]
    evidence_required: list[EvidenceKind] = Field(default_factory=list, max_length=10)  # type: ignore[valid-type]


class GuaranteesWrite(BaseModel):
    """PUT /guarantees: the whole set (plans left out have no guarantee afterwards); each plan at most once."""

    model_config = ConfigDict(extra="forbid")

    items: list[GuaranteeWrite] = Field(max_length=500)


class GuaranteeRead(BaseModel):
    plan_id: UUID
    description: str
    window_days: int
    condition: dict[str, Any]
    refund_percentage: int
    evidence_required: list[str]
    updated_by: UUID
    created_at: datetime
    updated_at: datetime


class GuaranteesRead(BaseModel):
    items: list[GuaranteeRead]


@dataclass(frozen=True)
class EvidenceUpload:
    """A multipart upload as the API received it, with where (the request's tracked store) and how much to store."""

    content: bytes
    filename: str
    note: str | None
    kind: str | None
    store: TrackedStore
    max_bytes: int


EVIDENCE_BODY = {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary", "description": "JPEG, PNG or PDF, at most 5 MB"},
                   "note": {"type": "string", "minLength": 1, "maxLength": 1000},
                   "kind": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[a-z0-9_]+$"}}}}}}
