"""When a consumed event happened, for read models where the newest fact wins (events arrive out of order)."""
from __future__ import annotations

from datetime import UTC, datetime

from sales.events.registry import ConsumedEvent, Unprocessable


def event_time(event: ConsumedEvent) -> datetime:
    """The event's CloudEvents `time` in UTC, else the time it arrived here (`event.now`)."""
    if not event.time:
        return event.now
    try:
        return datetime.fromisoformat(event.time.replace("Z", "+00:00")).astimezone(UTC)
    except (ValueError, OverflowError):
        raise Unprocessable(f"unusable event time {event.time!r}") from None
