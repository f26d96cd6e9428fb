"""Customer read models: the backfill API contract and the consumed event payloads."""
from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sales.catalog.enums import UserType
from sales.core.fields import Boolean, UTCDatetime, bounded_text
from sales.core.money import DecimalNumber
from sales.notifications.enums import Channel
from sales.orders.enums import OrderStatus, TransactionType
from sales.pipelines.enums import Source, Stage

# BCP 47 language tag (e.g. "en", "hi-IN").
Language = bounded_text(35, min_length=1, pattern=r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")
ViewId = bounded_text(128, min_length=1, pattern=r"^[A-Za-z0-9._:-]+$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Event(BaseModel):
    model_config = ConfigDict(extra="ignore")  # upstream may add fields; consumers ignore what they do not know


class _PreferenceFields(BaseModel):
    """A full snapshot of a user's communication preferences; omitted fields take their defaults."""

    marketing_opt_out: Boolean
    channels_opted_out: list[Channel] = Field(default=[], max_length=len(Channel))
    preferred_channel: Channel | None = None
    language: Language | None = None

    @field_validator("channels_opted_out")
    @classmethod
    def _dedupe(cls, value: list[Channel]) -> list[Channel]:
        return sorted(set(value), key=list(Channel).index)


class PreferencesWrite(_PreferenceFields, _Strict):
    updated_at: UTCDatetime | None = Field(
        default=None, description="when the values were set upstream; older than the stored ones is 409")


class PreferencesUpdated(_PreferenceFields, _Event):
    """users.preferences.updated"""

    user_id: UUID
    updated_at: UTCDatetime | None = None


class PreferencesRead(BaseModel):
    user_id: UUID
    marketing_opt_out: bool
    channels_opted_out: list[Channel]
    preferred_channel: Channel | None
    language: str | None
    updated_at: datetime


class _ViewFields(BaseModel):
    property_id: UUID
    viewed_at: UTCDatetime
    contacted: Boolean = False


class ViewCreate(_ViewFields, _Strict):
    id: ViewId | None = Field(default=None, description="the view's id upstream: a retried backfill is a no-op")


class PropertyViewed(_ViewFields, _Event):
    """engagement.property.viewed"""

    user_id: UUID


class ViewRead(BaseModel):
    id: str
    user_id: UUID
    property_id: UUID
    viewed_at: datetime
    contacted: bool


class ActivityCounts(BaseModel):
    """Property views and contacts (views with `contacted`) in [since, until)."""

    since: datetime
    until: datetime
    views: int
    contacts: int


# --- the customer context (GET /customers/{user_id}, issue 10 §3) ----------------------------------
# One shape for every caller. Fields marked "staff only" are null for a CUSTOMER reading their own context.

class ContactRead(BaseModel):
    """The customer's contact details as their newest lead gave them."""

    name: str | None
    phone: str | None
    email: str | None
    masked: bool = Field(description="phone and email are masked: only the customer, the RMs who work with them, "
                                     "those RMs' supervisors and SALES_ADMIN see them in full")


class QuotaUsageRead(BaseModel):
    quota_name: str
    quota: int | None = Field(description="the plan's allowance; null = unlimited")
    used: int
    percent: DecimalNumber | None = Field(description="used / quota in %, one decimal; null when unlimited")
    at: datetime = Field(description="when Entitlements measured it")


class ActivePlanRead(BaseModel):
    """A plan the customer holds now: a live order's plan, or a free plan they use without an order."""

    order_id: UUID | None = Field(description="null for a free plan held without an order")
    plan_id: UUID
    code: str
    name: str
    tier: int
    user_type: UserType
    starts_at: datetime | None
    ends_at: datetime | None
    usage: list[QuotaUsageRead]


class ContextRefundRead(BaseModel):
    refund_id: UUID
    amount: DecimalNumber
    completed_at: datetime


class ContextOrderRead(BaseModel):
    order_id: UUID
    plan_id: UUID
    plan_code: str | None
    plan_name: str | None
    user_type: UserType
    amount: DecimalNumber
    currency: str
    paid_at: datetime
    starts_at: datetime
    ends_at: datetime
    status: OrderStatus
    refunded_amount: DecimalNumber
    transaction_type: TransactionType
    refunds: list[ContextRefundRead]
    rm_id: UUID | None = Field(description="staff only: the RM who sold it")
    pipeline_id: UUID | None = Field(description="staff only")


class ContextPreferencesRead(BaseModel):
    marketing_opt_out: bool
    channels_opted_out: list[Channel]
    preferred_channel: Channel | None
    language: str | None
    updated_at: datetime


class ActivityWindowRead(BaseModel):
    """Property views and contacts (views with `contacted`) in the last `days` days on the business clock:
    since < viewed_at <= until."""

    days: int
    since: datetime
    until: datetime
    views: int
    contacts: int


class ActivityRead(BaseModel):
    last_7_days: ActivityWindowRead
    last_30_days: ActivityWindowRead


class PipelineRMRead(BaseModel):
    id: UUID
    name: str
    team: str | None = Field(description="staff only")


class ContextPipelineRead(BaseModel):
    """An open pipeline of the customer. The detail fields are staff only, and only for pipelines the caller may
    read (their own, their teams', or all for org-wide readers): null otherwise."""

    id: UUID
    stage: Stage
    rm: PipelineRMRead
    created_at: datetime
    stage_changed_at: datetime
    lead_id: UUID | None = Field(description="staff only")
    source: Source | None = Field(description="staff only, readable pipelines only")
    deal_value: DecimalNumber | None = Field(description="staff only, readable pipelines only")
    probability: int | None = Field(description="staff only, readable pipelines only")
    expected_close_date: date | None = Field(description="staff only, readable pipelines only")


class CustomerContext(BaseModel):
    """What Sales knows of one customer (issue 10 §3): plans and usage, orders and refunds, preferences,
    activity and open pipelines. Unknown facts are empty sections, never an error."""

    user_id: UUID
    as_of: datetime = Field(description="the business time the context was read at")
    audience: Literal["STAFF", "CUSTOMER"] = Field(
        description="CUSTOMER: the customer's own view, without staff-only details")
    contact: ContactRead | None
    active_plans: list[ActivePlanRead]
    orders: list[ContextOrderRead] | None = Field(
        description="newest payment first, at most 50; null for callers who may not read a customer's orders "
                    "(PRODUCT_MANAGER, as on /orders)")
    more_orders: bool = Field(description="the customer has more orders than the 50 listed")
    preferences: ContextPreferencesRead | None
    activity: ActivityRead
    open_pipelines: list[ContextPipelineRead]
