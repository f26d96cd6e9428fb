"""Customer read-model use cases: preferences (last write wins) and property views (once per id). Never commits.

Event-fed writes are not audited row by row: the inbox keeps every consumed envelope. Backfill API writes
are audited like every other API write.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from sales.core import audit
from sales.core.auth import Principal
from sales.customers import repository
from sales.customers.errors import StalePreferences, ViewIdConflict
from sales.customers.schemas import ActivityCounts, PreferencesRead, PreferencesWrite, ViewCreate, ViewRead


def _preferences(row: Any) -> PreferencesRead:
    return PreferencesRead.model_validate(row._mapping)


# --- preferences -------------------------------------------------------------------------------

async def apply_preferences(conn: AsyncConnection, *, user_id: UUID, data: PreferencesWrite | Any,
                            set_at: datetime, source: str, now: datetime) -> tuple[PreferencesRead, bool]:
    """Store a preferences snapshot set upstream at `set_at` unless newer ones are stored (then nothing
    changes); returns what is stored and whether this snapshot was applied."""
    row, applied = await repository.upsert_preferences(conn, {
        "user_id": user_id, "marketing_opt_out": data.marketing_opt_out,
        "channels_opted_out": [c.value for c in data.channels_opted_out],
        "preferred_channel": data.preferred_channel.value if data.preferred_channel else None,
        "language": data.language, "updated_at": set_at, "source": source, "received_at": now})
    return _preferences(row), applied


async def put_preferences(conn: AsyncConnection, principal: Principal, *, user_id: UUID, data: PreferencesWrite,
                          now: datetime) -> tuple[PreferencesRead, bool]:
    """Backfill one user's preferences (SERVICE, SALES_ADMIN); True when the user had none before."""
    before = await repository.get_preferences(conn, user_id)
    stored, applied = await apply_preferences(conn, user_id=user_id, data=data, set_at=data.updated_at or now,
                                              source="api", now=now)
    if not applied:
        raise StalePreferences(f"the stored preferences were set at {stored.updated_at.isoformat()}, after "
                               f"{(data.updated_at or now).isoformat()}")
    await audit.record(conn, principal, action="customer.preferences.set", entity_type="customer_preferences",
                       entity_id=user_id, at=now, before=_preferences(before) if before else None, after=stored)
    return stored, before is None


async def get_preferences(conn: AsyncConnection, *, user_id: UUID) -> PreferencesRead | None:
    """The user's stored preferences, or None when none were ever received."""
    row = await repository.get_preferences(conn, user_id)
    return _preferences(row) if row is not None else None


# --- activity ----------------------------------------------------------------------------------

async def record_view(conn: AsyncConnection, *, key: str, user_id: UUID, property_id: UUID, viewed_at: datetime,
                      contacted: bool, now: datetime) -> bool:
    """Store one property view under `key` (one statement); a second delivery of the same key changes nothing.
    True when stored now."""
    return await repository.insert_view(conn, {"id": key, "user_id": user_id, "property_id": property_id,
                                               "viewed_at": viewed_at, "contacted": contacted, "received_at": now})


async def add_view(conn: AsyncConnection, principal: Principal, *, user_id: UUID, data: ViewCreate,
                   now: datetime) -> tuple[ViewRead, bool]:
    """Backfill one property view (SERVICE, SALES_ADMIN); the same id twice is stored once."""
    key = f"api:{data.id or uuid.uuid4()}"
    created = await record_view(conn, key=key, user_id=user_id, property_id=data.property_id,
                                viewed_at=data.viewed_at, contacted=data.contacted, now=now)
    view = ViewRead.model_validate((await repository.get_view(conn, key))._mapping)
    if not created:
        if (view.user_id, view.property_id, view.viewed_at, view.contacted) != (
                user_id, data.property_id, data.viewed_at, data.contacted):
            raise ViewIdConflict(f"view {data.id} was recorded with other values")
        return view, False
    await audit.record(conn, principal, action="customer.view.recorded", entity_type="customer_view",
                       entity_id=key, at=now, after=view)
    return view, True


async def activity_counts(conn: AsyncConnection, user_id: UUID, since: datetime, until: datetime) -> ActivityCounts:
    """Views and contacts of one user in [since, until)."""
    views, contacts = await repository.activity_counts(conn, user_id, since, until)
    return ActivityCounts(since=since, until=until, views=views, contacts=contacts)


async def views_without_contact_since(conn: AsyncConnection, user_id: UUID, since: datetime) -> int:
    """UPR-003 input: views since `since` that came after the user's last contact (none counts as no contact)."""
    return await repository.views_without_contact_since(conn, user_id, since)
