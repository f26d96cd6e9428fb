"""Handlers of the consumed events of PRD §5.4 owned by this issue (others register theirs alike)."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, model_validator
from sqlalchemy.ext.asyncio import AsyncConnection

from sales.events.registry import ConsumedEvent, Unprocessable, handles
from sales.pipelines import service as pipelines_service
from sales.pipelines.enums import Stage


class LeadQualified(BaseModel):
    model_config = ConfigDict(extra="allow")
    lead_id: UUID
    qualified_at: datetime | None = None


class VisitCompleted(BaseModel):
    model_config = ConfigDict(extra="allow")
    visit_id: UUID | None = None
    lead_id: UUID | None = None
    pipeline_id: UUID | None = None
    completed_at: datetime | None = None
    outcome: str | None = None

    @model_validator(mode="after")
    def _target(self) -> "VisitCompleted":
        if self.lead_id is None and self.pipeline_id is None:
            raise ValueError("lead_id or pipeline_id is required")
        return self


LEAD_FACTS = ("lead_id", "customer", "city", "zone", "locality", "property_type", "segment",
              "expected_deal_value", "source", "intent")


def _data(event: ConsumedEvent) -> dict[str, Any]:
    if not isinstance(event.data, dict):
        raise Unprocessable("event data must be a JSON object")
    return event.data


@handles("leads.lead.created")
async def lead_created(conn: AsyncConnection, event: ConsumedEvent) -> None:
    """PRD §5.4: a new lead triggers the allocation workflow."""
    # Imported lazily: allocation imports pipelines, and the worker should start even without it.
    from sales.allocation.schemas import LeadAllocationRequest
    from sales.allocation.service import allocate_lead

    # Only the lead's facts: an upstream event may carry more fields, and may never name the RM itself.
    data = {k: v for k, v in _data(event).items() if k in LEAD_FACTS}
    request = LeadAllocationRequest.model_validate(data)
    await allocate_lead(conn, event.principal, request=request, now=event.now)


@handles("leads.lead.qualified")
async def lead_qualified(conn: AsyncConnection, event: ConsumedEvent) -> None:
    """PRD §5.4: the lead's open pipeline moves to REQUIREMENTS_CAPTURED if it is behind it."""
    data = LeadQualified.model_validate(_data(event))
    await pipelines_service.advance_to(conn, lead_id=data.lead_id, stage=Stage.REQUIREMENTS_CAPTURED,
                                       now=event.now, actor=event.principal,
                                       reason=f"lead qualified (event {event.id})")


@handles("scheduling.visit.completed")
async def visit_completed(conn: AsyncConnection, event: ConsumedEvent) -> None:
    """PRD §5.4: the pipeline moves to VISIT_COMPLETED if it is behind it."""
    data = VisitCompleted.model_validate(_data(event))
    await pipelines_service.advance_to(conn, lead_id=data.lead_id, pipeline_id=data.pipeline_id,
                                       stage=Stage.VISIT_COMPLETED, now=event.now, actor=event.principal,
                                       reason=f"visit completed (event {event.id})")
