"""Audit trail: every write records who did what to which entity, in the same transaction, as the next link
of a hash chain (sales.core.audit_chain: `sales audit verify` finds any edited, inserted or deleted row)."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import structlog
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncConnection

from sales.core import audit_chain
from sales.core.auth import Principal
from sales.core.pii import mask_contacts


def _snapshot(value: Any) -> Any:
    """Audit rows keep what changed, never a readable phone number or email address (issue 9 item 6)."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="python")
    return mask_contacts(value)


# Inside `async with audit.deferred(conn):` the rows recorded are chained together at the block's end (two
# statements for all of them instead of two per row; sales.core.audit_chain.deferred).
deferred = audit_chain.deferred
# Inside `async with audit.deferred(conn, with_events=True):` on PostgreSQL an INSERT whose outcome the block does
# not read can ride with the chain's head advance (`audit_chain.Rider`).
Rider, ride = audit_chain.Rider, audit_chain.ride


async def record(conn: AsyncConnection, principal: Principal | None, *, action: str, entity_type: str,
                 entity_id: Any, at: datetime, before: Any = None, after: Any = None) -> None:
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    await audit_chain.append(conn, dict(
        id=uuid.uuid4(), at=at,
        actor_id=principal.sub if principal else None,
        actor_roles=[str(role) for role in sorted(principal.roles)] if principal else ["SYSTEM"],
        action=action, entity_type=entity_type, entity_id=str(entity_id),
        before=_snapshot(before), after=_snapshot(after), request_id=request_id,
    ))
