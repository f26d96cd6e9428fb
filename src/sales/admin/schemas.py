from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from sales.core.fields import UTCDatetime, bounded_number

# The test clock stays well inside the calendar, so business arithmetic on it (SLA deadlines, retention
# windows, retry back-off) can never leave the years datetime holds.
CLOCK_EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
CLOCK_LATEST = datetime(3000, 1, 1, tzinfo=UTC)


def within_clock_range(at: datetime) -> datetime:
    if not CLOCK_EARLIEST <= at < CLOCK_LATEST:
        raise ValueError(f"the clock stays between {CLOCK_EARLIEST:%Y-%m-%d} and {CLOCK_LATEST:%Y-%m-%d} (UTC)")
    return at


class ClockRead(BaseModel):
    now: datetime


class ClockChange(BaseModel):
    # Exactly one of the two, not null (documented; the validator below enforces it).
    model_config = ConfigDict(extra="forbid", json_schema_extra={"oneOf": [
        {"required": ["now"], "properties": {"now": {"type": "string"}}},
        {"required": ["advance_seconds"], "properties": {"advance_seconds": {"type": "number"}}}]})
    now: Annotated[UTCDatetime, AfterValidator(within_clock_range), Field(json_schema_extra={
        "pattern": r"^(19[7-9][0-9]|2[0-9]{3})-[0-9]{2}-[0-9]{2}T[^Zz+-]*([Zz]|[+-][0-9]{2}:?[0-9]{2})$"})] | None = None
    advance_seconds: bounded_number(ge=0, le=10 * 365 * 86400) | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> "ClockChange":
        if (self.now is None) == (self.advance_seconds is None):
            raise ValueError("give exactly one of now, advance_seconds")
        return self


class JobResult(BaseModel):
    model_config = ConfigDict(extra="allow")
    job: str
    processed: int


class AuditEntry(BaseModel):
    id: UUID
    at: datetime
    actor_id: UUID | None
    actor_roles: list[str]
    action: str
    entity_type: str
    entity_id: str
    before: Any
    after: Any
    request_id: str | None
