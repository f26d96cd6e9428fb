"""Published events: written to the outbox in the changing transaction, as CloudEvents 1.0."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from sales.core.tables import outbox_events

SOURCE = "/mysqrft/sales"


def envelope(*, event_id: uuid.UUID, type_: str, subject: str, time: datetime, data: Any) -> dict[str, Any]:
    return {
        "specversion": "1.0", "id": str(event_id), "source": SOURCE, "type": type_,
        "time": time.isoformat().replace("+00:00", "Z"), "subject": subject,
        "datacontenttype": "application/json", "data": data,
    }


async def record(conn: AsyncConnection, *, type_: str, subject: Any, data: dict[str, Any],
                 at: datetime) -> uuid.UUID:
    """Queue one event; `subject` is the aggregate id and orders delivery per aggregate."""
    event_id = uuid.uuid4()
    await conn.execute(outbox_events.insert().values(
        id=event_id, type=type_, subject=str(subject), created_at=at,
        envelope=envelope(event_id=event_id, type_=type_, subject=str(subject), time=at, data=data),
    ))
    return event_id


async def record_many(conn: AsyncConnection, *, type_: str, events: list[tuple[Any, dict[str, Any]]],
                      at: datetime) -> None:
    """Queue many events of one type, `(subject, data)` each, in one multi-row insert (jobs that move thousands
    of rows at once: one statement instead of one per event)."""
    rows = []
    for subject, data in events:
        event_id = uuid.uuid4()
        rows.append({"id": event_id, "type": type_, "subject": str(subject), "created_at": at,
                     "envelope": envelope(event_id=event_id, type_=type_, subject=str(subject), time=at, data=data)})
    for start in range(0, len(rows), _BATCH):
        await conn.execute(outbox_events.insert(), rows[start:start + _BATCH])


_BATCH = 1000
