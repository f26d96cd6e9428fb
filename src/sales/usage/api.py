"""/api/v1/sales/usage: backfill of plan usage (issue 10 §2)."""
from __future__ import annotations

from uuid import UUID

from sales.core.http import Conn, Now, make_router, respond
from sales.usage import service
from sales.usage.permissions import UsageWrite
from sales.usage.schemas import UsageBackfill, UserUsage

router = make_router(tags=["usage"])


@router.put("/usage/{user_id}", response_model=UserUsage)
async def put_usage(user_id: UUID, data: UsageBackfill, principal: UsageWrite, conn: Conn, now: Now):
    """Record usage measurements of one user (newest per plan and quota wins); answers the user's usage."""
    return respond(await service.backfill_usage(conn, principal, user_id=user_id, items=data.items, now=now))
