"""Plan use cases: load -> check -> persist -> audit. Never commits.

Other domains use `get_plan_facts` / `plans_by_id` (no principal: internal reads of the catalogue)."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import true
from sqlalchemy.ext.asyncio import AsyncConnection

from sales.catalog import repository
from sales.catalog.enums import UserType
from sales.catalog.errors import PlanCodeTaken, PlanExists, PlanNotFound
from sales.catalog.schemas import PlanCreate, PlanRead, PlanUpdate
from sales.core import audit
from sales.core.auth import Principal
from sales.core.errors import InvalidInput


def _read(row: Any) -> PlanRead:
    return PlanRead.model_validate(row._mapping)


async def create_plan(conn: AsyncConnection, principal: Principal, *, data: PlanCreate, now: datetime) -> PlanRead:
    """Add a plan to the catalogue (SALES_ADMIN, SERVICE); its id and its code are unique."""
    plan_id = data.id or uuid.uuid4()
    values = {**data.model_dump(exclude={"id"}), "id": plan_id, "user_type": data.user_type.value,
              "created_at": now, "updated_at": now}
    row = await repository.insert_if_absent(conn, values)
    if row is None:
        if await repository.get(conn, plan_id) is not None:
            raise PlanExists(f"plan {plan_id} already exists")
        raise PlanCodeTaken(f"another plan has the code {data.code!r}")
    plan = _read(row)
    await audit.record(conn, principal, action="plan.created", entity_type="plan", entity_id=plan_id, at=now,
                       after=plan)
    return plan


async def get_plan(conn: AsyncConnection, principal: Principal, *, plan_id: UUID) -> PlanRead:
    """One plan; a CUSTOMER sees only plans on sale (others are 404)."""
    row = await repository.get(conn, plan_id, scope=repository.readable(principal))
    if row is None:
        raise PlanNotFound(f"plan {plan_id} not found")
    return _read(row)


async def list_plans(conn: AsyncConnection, principal: Principal, *, user_type: UserType | None,
                     active: bool | None, limit: int, cursor: list[Any] | None) -> list[PlanRead]:
    rows = await repository.list_(conn, scope=repository.readable(principal),
                                  user_type=user_type.value if user_type else None, active=active, limit=limit,
                                  after=_after(cursor))
    return [_read(r) for r in rows]


def _after(cursor: list[Any] | None) -> tuple[str, int, str] | None:
    if cursor is None:
        return None
    try:
        kind, tier, code = cursor
        if not isinstance(tier, int) or isinstance(tier, bool) or not 0 <= tier <= 100:
            raise ValueError
        return str(kind)[:16], tier, str(code)[:64]
    except (ValueError, TypeError):
        raise InvalidInput.query(("cursor",), "malformed cursor") from None


def cursor_of(plan: PlanRead) -> tuple[str, int, str]:
    return plan.user_type.value, plan.tier, plan.code


async def update_plan(conn: AsyncConnection, principal: Principal, *, plan_id: UUID, data: PlanUpdate,
                      now: datetime) -> PlanRead:
    """Change a plan; fields left out keep their values (SALES_ADMIN, SERVICE)."""
    before = await get_plan(conn, principal, plan_id=plan_id)
    if data.id is not None and data.id != plan_id:
        raise InvalidInput(("id",), "id cannot be changed")
    values = data.model_dump(exclude_unset=True, exclude={"id"})
    for name, value in values.items():
        if value is None:
            raise InvalidInput((name,), "may not be null")
    if "user_type" in values:
        values["user_type"] = values["user_type"].value
    if not values:
        return before
    row = await repository.update_unless_code_taken(conn, plan_id, {**values, "updated_at": now})
    if row is None:
        raise PlanCodeTaken(f"another plan has the code {values.get('code')!r}")
    plan = _read(row)
    await audit.record(conn, principal, action="plan.updated", entity_type="plan", entity_id=plan_id, at=now,
                       before=before, after=plan)
    return plan


# --- for other domains ---------------------------------------------------------------------------

async def get_plan_facts(conn: AsyncConnection, plan_id: UUID) -> PlanRead | None:
    """The plan, active or not (orders and usage refer to retired plans too); None when unknown."""
    row = await repository.get(conn, plan_id)
    return _read(row) if row is not None else None


async def plans_by_id(conn: AsyncConnection, plan_ids: set[UUID]) -> dict[UUID, PlanRead]:
    return {row.id: _read(row) for row in await repository.get_many(conn, plan_ids)}


async def plans_on_sale(conn: AsyncConnection, user_type: str, *, limit: int = 200) -> list[PlanRead]:
    """The active plans of one user type, by tier (the upsell engine's catalogue, issue 11)."""
    return [_read(r) for r in await repository.list_(conn, scope=true(), user_type=user_type, active=True,
                                                     limit=limit, after=None)]
