"""/api/v1/sales/plans: the plan catalogue (issue 10 §2)."""
from __future__ import annotations

from uuid import UUID

from sales.catalog import service
from sales.catalog.enums import UserType
from sales.catalog.permissions import PlansRead, PlansWrite
from sales.catalog.schemas import PlanCreate, PlanRead, PlanUpdate
from sales.core.fields import QueryBoolean
from sales.core.http import Conn, Now, Page, Paging, make_router, page_of, respond

router = make_router(tags=["plans"])


@router.get("/plans", response_model=Page[PlanRead])
async def list_plans(principal: PlansRead, conn: Conn, paging: Paging, user_type: UserType | None = None,
                     active: QueryBoolean | None = None):
    """Plans by user type and tier; a CUSTOMER sees the plans on sale only."""
    items = await service.list_plans(conn, principal, user_type=user_type, active=active, limit=paging.limit,
                                     cursor=paging.cursor)
    return respond(page_of(items, paging.limit, service.cursor_of))


@router.get("/plans/{plan_id}", response_model=PlanRead)
async def get_plan(plan_id: UUID, principal: PlansRead, conn: Conn):
    """One plan."""
    return respond(await service.get_plan(conn, principal, plan_id=plan_id))


@router.post("/plans", status_code=201, response_model=PlanRead)
async def create_plan(data: PlanCreate, principal: PlansWrite, conn: Conn, now: Now):
    """Add a plan (code unique)."""
    return respond(await service.create_plan(conn, principal, data=data, now=now), 201)


@router.put("/plans/{plan_id}", response_model=PlanRead)
async def update_plan(plan_id: UUID, data: PlanUpdate, principal: PlansWrite, conn: Conn, now: Now):
    """Change a plan; fields left out keep their values."""
    return respond(await service.update_plan(conn, principal, plan_id=plan_id, data=data, now=now))
