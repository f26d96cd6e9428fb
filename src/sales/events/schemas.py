"""API contract of the event endpoints (OpenAPI; responses are built by `respond`)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class FeedPage(BaseModel):
    items: list[dict[str, Any]]
    last_event_id: str | None
    next_cursor: str | None


class EventOutcome(BaseModel):
    id: str
    type: str
    status: str  # PROCESSED | DUPLICATE | IGNORED | FAILED | PARKED
    attempts: int
    error: str | None


class IngestResult(BaseModel):
    items: list[EventOutcome]


class InboxEntry(BaseModel):
    id: str
    type: str
    source: str
    status: str
    attempts: int
    last_error: str | None
    received_at: datetime
    processed_at: datetime | None
    next_attempt_at: datetime | None
    envelope: Any
