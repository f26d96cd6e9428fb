"""Plan usage contract: the consumed entitlements.usage.updated payload and the backfill API."""
from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from sales.core.money import DecimalNumber
from sales.core.fields import UTCDatetime, bounded_integer, bounded_text

QuotaName = bounded_text(64, min_length=1, pattern=r"^[a-z][a-z0-9_]*$")
Count = bounded_integer(ge=0, le=10**12)


class UsageMeasurement(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plan_id: UUID
    order_id: UUID | None = None
    quota_name: QuotaName  # type: ignore[valid-type]
    quota: Count | None = Field(description="the plan's allowance; null = unlimited")
    used: Count
    at: UTCDatetime = Field(description="when Entitlements measured it")


class UsageUpdated(UsageMeasurement):
    """entitlements.usage.updated; unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore")

    user_id: UUID


class UsageBackfill(BaseModel):
    """PUT /usage/{user_id}: measurements of one user; each applies only if newer than the stored one."""

    model_config = ConfigDict(extra="forbid")

    items: list[UsageMeasurement] = Field(min_length=1, max_length=100)


class UsageRead(BaseModel):
    plan_id: UUID
    order_id: UUID | None
    quota_name: str
    quota: int | None
    used: int
    percent: DecimalNumber | None = Field(description="used / quota in %, one decimal; null when unlimited")
    at: datetime


class UserUsage(BaseModel):
    user_id: UUID
    items: list[UsageRead]
