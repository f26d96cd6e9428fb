from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from sales.core.fields import JSONObject, Text
from sales.handoffs.enums import Direction, HandoffOutcome

CONTEXT_DOC = ("what the user did: `recent_views` and `shortlisted` (listing ids), `plan` (their current plan), "
               "and for a lead: `city`, `locality`, `zone`, `property_type` (RESIDENTIAL|COMMERCIAL), `segment` "
               "(TENANT|OWNER|BUYER), `source`, `customer` {name, phone, email}; city and locality default to "
               "those of the shortlisted or viewed listings")


class HandoffCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: UUID
    direction: Direction
    reason: Annotated[Text, Field(min_length=1, max_length=1000)]  # type: ignore[valid-type]
    context: JSONObject | None = Field(default=None, description=CONTEXT_DOC)


class HandoffRead(BaseModel):
    id: UUID
    user_id: UUID
    direction: Direction
    reason: str
    context: dict[str, Any] | None
    outcome: HandoffOutcome
    lead_id: UUID | None
    allocation_id: UUID | None
    rm_id: UUID | None
    pipeline_ids: list[UUID]
    created_by: UUID
    created_at: datetime
