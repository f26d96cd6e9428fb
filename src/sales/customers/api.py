"""Customer read models: backfill writes under /api/v1/sales/customers (the context read is built elsewhere)."""
from __future__ import annotations

from uuid import UUID

from sales.core.http import Conn, Now, make_router, respond
from sales.customers import service
from sales.customers.permissions import ContextWrite
from sales.customers.schemas import PreferencesRead, PreferencesWrite, ViewCreate, ViewRead

router = make_router(tags=["customers"])


@router.put("/{user_id}/preferences", response_model=PreferencesRead,
            responses={201: {"model": PreferencesRead}, 409: {"description": "newer preferences are stored"}})
async def put_preferences(user_id: UUID, data: PreferencesWrite, principal: ContextWrite, conn: Conn, now: Now):
    """Backfill a user's communication preferences (201 when first stored); an older snapshot is 409."""
    stored, created = await service.put_preferences(conn, principal, user_id=user_id, data=data, now=now)
    return respond(stored, 201 if created else 200)


@router.post("/{user_id}/activity", status_code=201, response_model=ViewRead,
             responses={200: {"model": ViewRead, "description": "that view id was already stored"}})
async def add_view(user_id: UUID, data: ViewCreate, principal: ContextWrite, conn: Conn, now: Now):
    """Backfill one property view of a user; the same view `id` again is 200 and stores nothing."""
    view, created = await service.add_view(conn, principal, user_id=user_id, data=data, now=now)
    return respond(view, 201 if created else 200)
