"""Consumed events that move pipelines forward (PRD §5.4), through the same stage-change path as the API."""
from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.ext.asyncio import AsyncConnection

from sales.events.payloads import object_data
from sales.events.registry import ConsumedEvent, handles
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
    outcome: str | None = Field(default=None, max_length=64)  # as visit_stops.outcome; longer is parked
    request_id: UUID | None = None  # a stop of a visit plan (issue 15): sales.visits handles it
    stop_id: UUID | None = None  # the same, by its other name

    @model_validator(mode="after")
    def _target(self) -> "VisitCompleted":
        if (self.lead_id, self.pipeline_id, self.request_id, self.stop_id) == (None, None, None, None):
            raise ValueError("lead_id, pipeline_id or request_id is required")
        return self


@handles("leads.lead.qualified")
async def lead_qualified(conn: AsyncConnection, event: ConsumedEvent) -> None:
    """PRD §5.4: the lead's open pipeline moves to REQUIREMENTS_CAPTURED if it is behind it."""
    data = LeadQualified.model_validate(object_data(event))
    await pipelines_service.advance_to(conn, lead_id=data.lead_id, stage=Stage.REQUIREMENTS_CAPTURED,
                                       now=event.now, actor=event.principal,
                                       reason=f"lead qualified (event {event.id})")


@handles("scheduling.visit.completed")
async def visit_completed(conn: AsyncConnection, event: ConsumedEvent) -> None:
    """PRD §5.4: the pipeline moves to VISIT_COMPLETED if it is behind it. A visit of a visit plan (`request_id`)
    moves it only once the plan's last stop is done (sales.visits.handlers)."""
    data = VisitCompleted.model_validate(object_data(event))
    if data.request_id is not None or data.stop_id is not None:
        return
    await pipelines_service.advance_to(conn, lead_id=data.lead_id, pipeline_id=data.pipeline_id,
                                       stage=Stage.VISIT_COMPLETED, now=event.now, actor=event.principal,
                                       reason=f"visit completed (event {event.id})")
