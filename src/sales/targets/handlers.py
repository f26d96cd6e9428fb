"""Consumed events of the targets domain (issue 13)."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from sales.events.payloads import object_data
from sales.events.registry import ConsumedEvent, handles
from sales.targets import service
from sales.targets.schemas import CsatRecorded


@handles("crm.csat.recorded")
async def csat_recorded(conn: AsyncConnection, event: ConsumedEvent) -> None:
    """A customer's satisfaction score for an RM (`rm_id`, `pipeline_id`, `score` 0-10, `at`): stored once per event
    and counted by CUSTOMER_SATISFACTION targets of the period holding `at` (the mean score). Invalid data is
    parked at once."""
    data = CsatRecorded.model_validate(object_data(event))
    await service.record_csat(conn, event_id=event.id, rm_id=data.rm_id, pipeline_id=data.pipeline_id,
                              score=data.score, at=data.at, now=event.now)
