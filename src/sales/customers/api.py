"""/api/v1/sales/customers: the customer context (issue 10 §3) and the backfill of its read models."""
from __future__ import annotations

from uuid import UUID

from sales.core.http import Conn, Now, make_router, respond
from sales.customers import context, service
from sales.customers.permissions import ContextRead, ContextWrite
from sales.customers.schemas import CustomerContext, PreferencesRead, PreferencesWrite, ViewCreate, ViewRead

router = make_router(tags=["customers"])


@router.get("/{user_id}", response_model=CustomerContext, responses={404: {"description": "not in your scope"}})
async def get_customer_context(user_id: UUID, principal: ContextRead, conn: Conn, now: Now):
    """A customer's context: active plans with quota usage, orders and refunds, preferences, 7/30-day activity and
    open pipelines with their RM. RMs and supervisors see the customers of their (teams') pipelines, org-wide
    readers every customer with contacts masked (except SALES_ADMIN), a CUSTOMER only themselves, without
    staff-only details; anyone else gets 404."""
    return respond(await context.get_context(conn, principal, user_id=user_id, now=now))


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
