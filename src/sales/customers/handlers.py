"""Consumed events of the customer read models (issue 10 §2): Users' preferences, Engagement's property views."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from sales.customers import service
from sales.customers.schemas import PreferencesUpdated, PropertyViewed
from sales.events.payloads import object_data
from sales.events.registry import ConsumedEvent, handles
from sales.events.times import event_time


@handles("users.preferences.updated")
async def preferences_updated(conn: AsyncConnection, event: ConsumedEvent) -> None:
    """Last write wins by the time the preferences were set (data.updated_at, else the event's time, else
    arrival): an older snapshot arriving late changes nothing."""
    data = PreferencesUpdated.model_validate(object_data(event))
    await service.apply_preferences(conn, user_id=data.user_id, data=data,
                                    set_at=data.updated_at or event_time(event), source=f"event:{event.id}",
                                    now=event.now)


@handles("engagement.property.viewed")
async def property_viewed(conn: AsyncConnection, event: ConsumedEvent) -> None:
    """One view per event id (the inbox already dedupes; the view row does too)."""
    data = PropertyViewed.model_validate(object_data(event))
    await service.record_view(conn, key=f"event:{event.id}", user_id=data.user_id, property_id=data.property_id,
                              viewed_at=data.viewed_at, contacted=data.contacted, now=event.now)
