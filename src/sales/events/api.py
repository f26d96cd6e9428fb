"""/api/v1/sales/events: the outbox feed, HTTP ingest of consumed events, parked events."""
from __future__ import annotations

import asyncio
import random

from typing import Annotated, Any
from uuid import UUID

import orjson
from fastapi import Depends, Query, Request
from pydantic import Field, TypeAdapter
from sqlalchemy.exc import DBAPIError

from sales.core import audit
from sales.core.auth import Principal, Role
from sales.core.db import is_transient
from sales.core.errors import InvalidInput
from sales.core.fields import Text, UTCDatetime, bounded_query_integer
from sales.core.http import Conn, Now, Page, Paging, cursor_after, make_router, page_of, require, respond
from sales.events import inbox, jobs as _jobs, repository  # noqa: F401 - jobs registers the events jobs
from sales.events.envelope import envelope_errors
from sales.events.errors import MalformedEvent, MalformedJSON
from sales.events.jobs import retry_policy
from sales.events.schemas import EventOutcome, FeedPage, InboxEntry, IngestResult
from sales.events.schemas import INGEST_BODY

router = make_router(tags=["events"])

FeedReader = Annotated[Principal, Depends(require(Role.SERVICE, Role.SALES_ADMIN))]
EventSender = Annotated[Principal, Depends(require(Role.SERVICE))]
ParkedAdmin = Annotated[Principal, Depends(require(Role.SALES_ADMIN, Role.SERVICE))]

MAX_BATCH = 500
TRANSIENT_ATTEMPTS = 3  # runs of a batch that lost a deadlock before the client is told to retry (503)
EventId = Annotated[Text, Field(max_length=128)]  # inbox_events.id
_AFTER_RECEIVED = TypeAdapter(tuple[UTCDatetime, EventId])  # parked events are listed by received_at, then id


@router.get("/events/feed", response_model=FeedPage)
async def read_feed(principal: FeedReader, conn: Conn,
                    after: Annotated[UUID | None, Query(description="id of the last event already read")] = None,
                    limit: Annotated[bounded_query_integer(ge=1, le=500), Query()] = 50):
    """Published events in commit order (CloudEvents), for pull consumers; page with `after`."""
    await repository.sequence(conn)
    after_pos = 0
    if after is not None:
        found = await repository.position_of(conn, after)
        if found is None:
            raise InvalidInput.query(("after",), f"unknown event id {after}")
        after_pos = found
    rows = await repository.feed(conn, after_pos=after_pos, limit=limit)
    last = str(rows[-1].id) if rows else (str(after) if after else None)
    return respond({"items": [r.envelope for r in rows], "last_event_id": last,
                    "next_cursor": last if len(rows) == limit else None})


@router.post("/events", response_model=IngestResult, openapi_extra={"requestBody": INGEST_BODY})
async def ingest(request: Request, principal: EventSender, conn: Conn, now: Now):
    """Receive one CloudEvent or a JSON array of them; each is handled once per event id."""
    try:
        body: Any = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise MalformedJSON("the request body is not valid JSON") from None
    batch = isinstance(body, list)
    events = body if batch else [body]
    if not events:
        raise InvalidInput((), "an empty batch")
    if len(events) > MAX_BATCH:
        raise InvalidInput((), f"at most {MAX_BATCH} events per batch")
    errors = [e for i, ev in enumerate(events)
              for e in envelope_errors(ev, loc=("body", i) if batch else ("body",))]
    if errors:
        raise MalformedEvent(f"{len(errors)} invalid CloudEvent attribute(s)", extra={"errors": errors})
    policy = retry_policy()
    for attempt in range(1, TRANSIENT_ATTEMPTS + 1):
        try:
            outcomes = [await inbox.receive(conn, ev, now=now, policy=policy) for ev in events]
            return respond({"items": [o.as_dict() for o in outcomes]})
        except DBAPIError as exc:
            # Batches touching the same records in another order can deadlock: the database rolled this one
            # back, so run it again from the start (the inbox keeps each event once); then 503 (app.py).
            if not is_transient(exc) or attempt == TRANSIENT_ATTEMPTS:
                raise
            await conn.rollback()
            await conn.begin()
            await asyncio.sleep(random.uniform(0, 0.05 * attempt))


@router.get("/events/parked", response_model=Page[InboxEntry])
async def list_parked(principal: ParkedAdmin, conn: Conn, paging: Paging):
    """Consumed events parked after repeated failures (or malformed), oldest first; phone numbers and emails in
    them are masked."""
    rows = await repository.list_inbox(conn, status=inbox.PARKED, limit=paging.limit,
                                       after=cursor_after(paging.cursor, _AFTER_RECEIVED))
    entries = [InboxEntry.model_validate(inbox.parked_view(r)) for r in rows]
    return respond(page_of(entries, paging.limit, lambda e: (e.received_at.isoformat(), e.id)))


@router.post("/events/parked/{event_id}/retry", response_model=EventOutcome)
async def retry_parked(event_id: EventId, principal: ParkedAdmin, conn: Conn, now: Now):
    """Run a parked event's handler again now; if it fails again it stays parked with the new error."""
    outcome = await inbox.retry_parked(conn, event_id, now=now, policy=retry_policy())
    await audit.record(conn, principal, action="event.retried", entity_type="inbox_event", entity_id=event_id,
                       at=now, after=outcome.as_dict())
    return respond(outcome.as_dict())
