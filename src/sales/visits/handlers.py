"""Scheduling's events about visit plans (issue 15)."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from sales.events.payloads import object_data
from sales.events.registry import ConsumedEvent, Unprocessable, handles
from sales.visits import service
from sales.visits.schemas import AvailabilityUpdated, VisitAnswer


@handles("scheduling.availability.updated")
async def availability_updated(conn: AsyncConnection, event: ConsumedEvent) -> None:
    """An owner's windows for a listing: later plans and re-plans use them instead of the request's."""
    data = AvailabilityUpdated.model_validate(object_data(event))
    await service.on_availability(conn, listing_id=data.listing_id,
                                  windows=[(w.start, w.end) for w in data.windows if w.end > w.start],
                                  reported_at=data.updated_at or event.now, now=event.now)


def _answer_to_a_request(event: ConsumedEvent) -> VisitAnswer:
    """A confirmation or decline must name the request it answers (request_id or stop_id, as its schema says);
    one that names none can never be applied: parked, not acknowledged as handled (OWASP API10)."""
    answer = VisitAnswer.model_validate(object_data(event))
    if answer.stop is None:
        raise Unprocessable("request_id or stop_id is required")
    return answer


@handles("scheduling.visit.confirmed")
async def visit_confirmed(conn: AsyncConnection, event: ConsumedEvent) -> None:
    await service.on_confirmed(conn, answer=_answer_to_a_request(event), now=event.now)


@handles("scheduling.visit.declined")
async def visit_declined(conn: AsyncConnection, event: ConsumedEvent) -> None:
    await service.on_declined(conn, answer=_answer_to_a_request(event), actor=event.principal, now=event.now)


@handles("scheduling.visit.completed")
async def visit_completed(conn: AsyncConnection, event: ConsumedEvent) -> None:
    """A planned stop (named by `request_id`) is COMPLETED with the outcome; the pipelines handler leaves such
    events to this one, so the pipeline moves on when the plan's last stop is done."""
    await service.on_completed(conn, answer=VisitAnswer.model_validate(object_data(event)), actor=event.principal,
                               now=event.now)
