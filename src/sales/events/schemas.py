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


def _text(max_length: int) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": max_length, "pattern": r"\S"}


# The body of POST /events as sales.events.envelope checks it: one CloudEvent 1.0 (structured JSON) or a batch.
CLOUD_EVENT_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["specversion", "id", "source", "type"],
    "properties": {
        "specversion": {"const": "1.0"}, "id": _text(128), "source": _text(256), "type": _text(128),
        "subject": {"type": ["string", "null"]}, "dataschema": {"type": ["string", "null"]},
        "time": {"type": ["string", "null"], "format": "date-time"},
        "datacontenttype": {"type": ["string", "null"], "pattern": "json"}, "data": {}}}
INGEST_BODY: dict[str, Any] = {"required": True, "content": {"application/json": {"schema": {"oneOf": [
    CLOUD_EVENT_SCHEMA, {"type": "array", "items": CLOUD_EVENT_SCHEMA, "minItems": 1, "maxItems": 500}]}}}}
