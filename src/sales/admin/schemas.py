from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator


class ClockRead(BaseModel):
    now: datetime


class ClockChange(BaseModel):
    # Exactly one of the two, not null (documented; the validator below enforces it).
    model_config = ConfigDict(extra="forbid", json_schema_extra={"oneOf": [
        {"required": ["now"], "properties": {"now": {"type": "string"}}},
        {"required": ["advance_seconds"], "properties": {"advance_seconds": {"type": "number"}}}]})
    now: AwareDatetime | None = None
    advance_seconds: float | None = Field(default=None, ge=0, le=10 * 365 * 86400)

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
