"""Order API contract and the consumed Billing / Entitlements payloads (issue 10 §2 Orders)."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from sales.catalog.enums import UserType
from sales.core.money import DecimalNumber, Money
from sales.core.fields import UTCDatetime, bounded_text
from sales.orders.enums import BackfillStatus, OrderStatus, TransactionType

Currency = bounded_text(3, min_length=3, pattern=r"^[A-Z]{3}$")
PositiveMoney = Annotated[Money, Field(gt=0)]


class _Payload(BaseModel):
    """Consumed event data: fields this service does not know are ignored (docs/events/README.md)."""

    model_config = ConfigDict(extra="ignore")


class OrderFacts(BaseModel):
    """What Billing knows of a paid order."""

    payment_id: UUID | None = None
    user_id: UUID
    user_type: UserType
    plan_id: UUID
    amount: Money
    currency: Currency  # type: ignore[valid-type]
    paid_at: UTCDatetime
    upsell_id: UUID | None = None
    rm_id: UUID | None = Field(default=None, description="the RM who sold it")
    pipeline_id: UUID | None = None
    transaction_type: TransactionType | None = Field(
        default=None, description="PRD §3.2.5; derived from the user's other orders when absent")


class OrderUpsert(OrderFacts):
    """PUT /orders/{order_id} (backfill): creates the order or brings it to these facts. Ids left out keep
    their stored values; `status` ACTIVE means live (refunds received still show)."""

    model_config = ConfigDict(extra="forbid")

    status: BackfillStatus | None = None


class PaymentCompleted(OrderFacts):
    """billing.payment.completed"""

    model_config = ConfigDict(extra="ignore")

    payment_id: UUID
    order_id: UUID


class RefundCompleted(_Payload):
    """billing.refund.completed"""

    refund_id: UUID
    order_id: UUID
    amount: PositiveMoney
    completed_at: UTCDatetime


class PlanExpired(_Payload):
    """entitlements.plan.expired"""

    user_id: UUID
    plan_id: UUID
    order_id: UUID
    expired_at: UTCDatetime


class OrderRead(BaseModel):
    order_id: UUID
    payment_id: UUID | None
    user_id: UUID
    user_type: UserType
    plan_id: UUID
    amount: DecimalNumber
    currency: str
    paid_at: datetime
    starts_at: datetime
    ends_at: datetime
    status: OrderStatus
    refunded_amount: DecimalNumber
    transaction_type: TransactionType
    rm_id: UUID | None
    pipeline_id: UUID | None
    upsell_id: UUID | None
    expired_at: datetime | None
    created_at: datetime
    updated_at: datetime


class RefundRead(BaseModel):
    refund_id: UUID
    order_id: UUID
    amount: DecimalNumber
    completed_at: datetime


class OrderDetail(OrderRead):
    refunds: list[RefundRead]
