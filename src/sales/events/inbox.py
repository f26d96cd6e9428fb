"""Consumed events: one inbox row per event id makes handling idempotent; failures retry, then park.

Statuses: PROCESSED (handler succeeded), IGNORED (no handler for the type; acknowledged and counted),
FAILED (handler raised; retried at `next_attempt_at` with exponential backoff), PARKED (failed
`max_attempts` times, or can never succeed: bad data, malformed envelope; an admin retries it).
Each handler run happens inside a SAVEPOINT so its partial writes roll back while the inbox row that
records the failure is kept.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
import structlog
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection

from sales.core.errors import InvalidInput
from sales.core.logging import describe_exception
from sales.core.pii import mask_contacts, mask_text
from sales.core.fields import NUL, json_problems
from sales.events import repository
from sales.events.envelope import envelope_errors
from sales.events.errors import EventNotFound, EventNotParked
from sales.events.metrics import CONSUMED
from sales.events.registry import ConsumedEvent, Unprocessable, handlers_for

log = structlog.get_logger("sales.events.inbox")

PROCESSED, IGNORED, FAILED, PARKED = "PROCESSED", "IGNORED", "FAILED", "PARKED"
DUPLICATE = "DUPLICATE"  # outcome only: the id was seen before; nothing happened


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_seconds: float = 5.0
    max_seconds: float = 600.0

    def delay(self, attempts: int) -> timedelta:
        return timedelta(seconds=min(self.base_seconds * 2 ** max(attempts - 1, 0), self.max_seconds))


@dataclass(frozen=True)
class Outcome:
    id: str
    type: str
    status: str
    attempts: int = 0
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "status": self.status, "attempts": self.attempts,
                "error": self.error}


async def receive(conn: AsyncConnection, event: dict[str, Any], *, now: datetime, policy: RetryPolicy) -> Outcome:
    """Record a (valid) CloudEvent in the inbox and handle it once; a known id is a no-op."""
    event_id, type_ = event["id"], event["type"]
    await repository.insert_inbox_if_absent(conn, {
        "id": event_id, "type": type_, "source": event["source"], "status": "RECEIVED", "attempts": 0,
        "received_at": now}, envelope=event)
    row = await repository.get_inbox(conn, event_id, for_update=True)  # concurrent deliveries wait here
    if row.status in (PROCESSED, IGNORED, PARKED):
        CONSUMED.labels(type_, "duplicate").inc()
        return Outcome(event_id, row.type, DUPLICATE if row.status != PARKED else PARKED, row.attempts,
                       row.last_error)
    return await attempt(conn, row, now=now, policy=policy)


async def park_malformed(conn: AsyncConnection, raw: bytes | str, *, origin: str, now: datetime) -> Outcome:
    """A delivery that is not a usable CloudEvent (from NATS): keep it, parked, for a person to look at."""
    try:
        value: Any = orjson.loads(raw)
    except orjson.JSONDecodeError:
        value = None
    errors = envelope_errors(value) if value is not None else [{"loc": [], "msg": "not JSON"}]
    attributes = value if isinstance(value, dict) else {}
    event_id, type_ = attributes.get("id"), attributes.get("type")
    event_id = event_id if isinstance(event_id, str) and event_id.strip() and NUL not in event_id else origin
    type_ = type_ if isinstance(type_, str) and NUL not in type_ else "(malformed)"
    error = "malformed envelope: " + "; ".join(f"{'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg']}"
                                               for e in errors).replace(NUL, "\\u0000")
    if not attributes or json_problems(attributes):  # kept as text: PostgreSQL cannot store NUL, even in JSON
        text = raw.decode(errors="replace") if isinstance(raw, bytes) else raw
        value = {"raw": text.replace(NUL, "\\u0000")}
    inserted = await repository.insert_inbox_if_absent(conn, {
        "id": event_id[:128], "type": type_[:128], "source": origin[:256], "status": PARKED, "attempts": 0,
        "last_error": error, "received_at": now}, envelope=value)
    CONSUMED.labels(type_[:64], "malformed").inc()
    log.warning("malformed event parked", event_id=event_id, origin=origin, error=error, new=inserted)
    return Outcome(event_id, type_, PARKED if inserted else DUPLICATE, 0, error)


async def attempt(conn: AsyncConnection, row: Any, *, now: datetime, policy: RetryPolicy,
                  park_on_failure: bool = False) -> Outcome:
    """Run the handler of one inbox row (locked by the caller) and record the result."""
    envelope = repository.envelope_of(row)
    problems = envelope_errors(envelope)
    if problems:
        return await _failed(conn, row, now=now, policy=policy, permanent=True,
                             error="malformed envelope: " + "; ".join(
                                 f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in problems))
    handlers = handlers_for(row.type)
    if not handlers:
        await repository.update_inbox(conn, row.id, {"status": IGNORED, "processed_at": now,
                                                     "next_attempt_at": None})
        CONSUMED.labels(row.type, "ignored").inc()
        return Outcome(row.id, row.type, IGNORED, row.attempts)
    event = ConsumedEvent(id=row.id, type=row.type, source=envelope["source"], subject=envelope.get("subject"),
                          time=envelope.get("time"), data=_exact(envelope.get("data")), envelope=envelope, now=now)
    try:
        async with conn.begin_nested():  # every handler of the event, or none of them
            for handler in handlers:
                await handler(conn, event)
    except (Unprocessable, InvalidInput, ValidationError) as exc:
        return await _failed(conn, row, now=now, policy=policy, permanent=True, error=_describe(exc))
    except Exception as exc:  # noqa: BLE001 - any handler failure is recorded, retried, then parked
        return await _failed(conn, row, now=now, policy=policy, permanent=park_on_failure, error=_describe(exc))
    attempts = row.attempts + 1
    await repository.update_inbox(conn, row.id, {"status": PROCESSED, "attempts": attempts, "processed_at": now,
                                                 "next_attempt_at": None, "last_error": None})
    CONSUMED.labels(row.type, "processed").inc()
    return Outcome(row.id, row.type, PROCESSED, attempts)


async def _failed(conn: AsyncConnection, row: Any, *, now: datetime, policy: RetryPolicy, permanent: bool,
                  error: str) -> Outcome:
    error = mask_text(error)  # a handler's message may quote the event's data; stored, logged and returned
    attempts = row.attempts + 1
    park = permanent or attempts >= policy.max_attempts
    status = PARKED if park else FAILED
    await repository.update_inbox(conn, row.id, {
        "status": status, "attempts": attempts, "last_error": error[:4000],
        "next_attempt_at": None if park else now + policy.delay(attempts)})
    CONSUMED.labels(row.type, status.lower()).inc()
    log.warning("event handler failed", event_id=row.id, type=row.type, attempts=attempts, status=status,
                error=error[:500])
    return Outcome(row.id, row.type, status, attempts, error[:4000])


def _exact(value: Any) -> Any:
    """JSON numbers with a fraction reach handlers as Decimal (from their shortest repr), never as float."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _exact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_exact(v) for v in value]
    return value


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        parts = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        return "invalid data: " + "; ".join(parts)
    detail = getattr(exc, "detail", None)
    return f"{type(exc).__name__}: {detail}" if detail else describe_exception(exc)


def parked_view(row: Any) -> dict[str, Any]:
    """An inbox row as staff see it: the envelope decrypted with its phone numbers and emails masked (nobody
    needs them to fix a parked event; a retry uses the stored envelope)."""
    return {**row._mapping, "envelope": mask_contacts(repository.envelope_of(row))}


async def retry_due(conn: AsyncConnection, *, now: datetime, policy: RetryPolicy, limit: int = 100) -> int:
    """Retry FAILED events whose backoff has elapsed (the `inbox-retry` job)."""
    rows = await repository.due_failed(conn, now=now, limit=limit)
    for row in rows:
        await attempt(conn, row, now=now, policy=policy)
    return len(rows)


async def retry_parked(conn: AsyncConnection, event_id: str, *, now: datetime, policy: RetryPolicy) -> Outcome:
    """An admin's retry of a parked event: one immediate attempt; failing again keeps it parked."""
    row = await repository.get_inbox(conn, event_id, for_update=True)
    if row is None:
        raise EventNotFound(f"no consumed event {event_id}")
    if row.status != PARKED:
        raise EventNotParked(f"event {event_id} is {row.status}, not parked")
    return await attempt(conn, row, now=now, policy=policy, park_on_failure=True)
