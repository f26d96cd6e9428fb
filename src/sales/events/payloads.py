"""Helpers every domain's event handlers share."""
from __future__ import annotations

from typing import Any

from sales.events.registry import ConsumedEvent, Unprocessable


def object_data(event: ConsumedEvent) -> dict[str, Any]:
    """The event's `data` as a JSON object; anything else can never be handled (parked at once)."""
    if not isinstance(event.data, dict):
        raise Unprocessable("event data must be a JSON object")
    return event.data
