"""Upsell API contract (PRD §3.2.2, §7.2; issue 11)."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from sales.catalog.enums import UserType
from sales.core.fields import JSONObject, bounded_integer, bounded_text, json_number
from sales.core.money import DecimalNumber
from sales.upsell import rules
from sales.upsell.enums import DecisionOutcome, UpsellChannel, UpsellResponse, UpsellStatus

TriggerEvent = bounded_text(128, min_length=1)


class TriggerName(StrEnum):
    QUOTA_THRESHOLD = "QUOTA_THRESHOLD"
    VIEWS_WITHOUT_CONTACT = "VIEWS_WITHOUT_CONTACT"
    PLAN_EXPIRED = "PLAN_EXPIRED"
    LOW_LISTING_VIEWS = "LOW_LISTING_VIEWS"
Variant = bounded_text(64, min_length=1)


class UpsellCreate(BaseModel):
    """POST /upsells: goes through the same gating as the engine's own triggers."""

    model_config = ConfigDict(extra="forbid")

    user_id: UUID
    user_type: UserType
    target_plan_id: UUID
    trigger_event: TriggerEvent  # type: ignore[valid-type]
    trigger_context: JSONObject | None = None
    channel: UpsellChannel
    experiment_variant: Variant | None = None  # type: ignore[valid-type]


class UpsellRespond(BaseModel):
    model_config = ConfigDict(extra="forbid")

    response: UpsellResponse


class UpsellRead(BaseModel):
    id: UUID
    user_id: UUID
    user_type: UserType
    current_plan_id: UUID | None
    target_plan_id: UUID
    trigger_event: str
    trigger_context: dict[str, Any] | None
    status: UpsellStatus
    channel: UpsellChannel
    presented_at: datetime | None
    clicked_at: datetime | None
    dismissed_at: datetime | None
    response: UpsellResponse | None
    converted_at: datetime | None
    conversion_value: DecimalNumber | None
    experiment_variant: str | None
    experiment_id: UUID | None = Field(description="the experiment that chose the variant (issue 16)")
    message: str | None = Field(description="the experiment variant's message, when one chose it")
    present_after: datetime | None = Field(description="show no earlier than this (the variant's delay)")
    expires_at: datetime | None
    created_at: datetime


class RuleRead(BaseModel):
    rule: str = Field(description="UPR-001, UPR-005, UPR-006, UPR-004 or STAGE")
    passed: bool
    figures: dict[str, Any]


class DecisionRead(BaseModel):
    id: UUID
    user_id: UUID
    user_type: UserType
    trigger_event: str
    target_plan_id: UUID | None
    requested_channel: UpsellChannel
    channel: UpsellChannel | None
    outcome: DecisionOutcome
    rules: list[RuleRead]
    upsell_id: UUID | None
    decided_at: datetime


class GainRead(BaseModel):
    name: str
    current: bool | int | DecimalNumber | str | None
    target: bool | int | DecimalNumber | str | None


class RecommendationRead(BaseModel):
    plan_id: UUID
    code: str
    name: str
    user_type: UserType
    tier: int
    price: DecimalNumber
    current_plan_id: UUID | None
    reason: str
    gains: list[GainRead] = Field(description="features that differ from the current plan")


class GateRead(BaseModel):
    allowed: bool = Field(description="whether an upsell may be shown now (IN_APP_BANNER)")
    channel: UpsellChannel | None
    blocking_rules: list[str]
    rules: list[RuleRead]


class Recommendations(BaseModel):
    user_id: UUID
    as_of: datetime
    items: list[RecommendationRead]
    gate: GateRead


class FunnelGroup(BaseModel):
    key: str | None = Field(description="the group's trigger_event, channel, user_type or experiment_variant "
                                        "(ALL without group_by; null: no variant)")
    created: int
    presented: int
    clicked: int
    converted: int
    dismissed: int
    expired: int
    presentation_rate: DecimalNumber | None = Field(description="presented / created, 4 places; null when 0")
    click_rate: DecimalNumber | None = Field(description="clicked / presented")
    conversion_rate: DecimalNumber | None = Field(description="converted / presented (PRD §9)")
    revenue: DecimalNumber


class Funnel(BaseModel):
    from_: datetime = Field(alias="from")
    to: datetime
    group_by: str | None
    groups: list[FunnelGroup]
    total: FunnelGroup

    model_config = {"populate_by_name": True}


class CheckoutRead(BaseModel):
    """POST /upsells/{id}/checkout: the payment request sent to Billing (sales.payment.requested)."""

    payment_request_id: UUID
    upsell_id: UUID
    user_id: UUID
    plan_id: UUID
    amount: DecimalNumber
    requested_at: datetime


class TriggerConfig(BaseModel):
    """The upsell engine's configurable figures (issue 11); defaults are the PRD's."""

    model_config = ConfigDict(extra="forbid")

    quota_threshold_percent: Annotated[Decimal, Field(ge=1, le=100, max_digits=4, decimal_places=1),
                                       BeforeValidator(json_number)] = rules.QUOTA_THRESHOLD_PERCENT
    views_without_contact: bounded_integer(ge=1, le=1000) = rules.VIEWS_WITHOUT_CONTACT
    offer_window_days: bounded_integer(ge=1, le=90) = rules.OFFER_WINDOW.days
    attribution_window_days: bounded_integer(ge=1, le=90) = rules.ATTRIBUTION_WINDOW.days
    boost_expected_extra_views: bounded_integer(ge=0, le=100000) = rules.BOOST_EXPECTED_EXTRA_VIEWS
    enabled_triggers: list[TriggerName] = Field(
        default_factory=lambda: list(TriggerName), max_length=4,
        description="triggers that may fire; an upsell created through POST /upsells is not affected")


class TriggerConfigWrite(TriggerConfig):
    """PUT /upsells/triggers: the whole configuration; `version` (optional) = the version it replaces."""

    version: bounded_integer(ge=0, le=10**9) | None = None


class TriggerConfigRead(BaseModel):
    version: int = Field(description="0: the defaults, never changed")
    quota_threshold_percent: DecimalNumber
    views_without_contact: int
    offer_window_days: int
    attribution_window_days: int
    boost_expected_extra_views: int
    enabled_triggers: list[TriggerName]
    updated_by: UUID | None
    updated_at: datetime | None
