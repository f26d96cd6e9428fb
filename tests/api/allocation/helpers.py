"""Shared steps of the allocation API tests (on top of tests/allocation_builders.py)."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from sales.allocation.models import rm_allocations
from sales.core.tables import audit_log, outbox_events
from sales.directory.models import rms
from sales.leads.models import leads
from sales.pipelines.models import sales_pipelines as pipelines
from tests.allocation_builders import allocate, set_clock
from tests.builders import API

NOW = "2026-01-17T10:30:00Z"  # a Saturday
PRD_FIELDS = {"id", "lead_id", "rm_id", "allocation_type", "allocation_reason", "priority", "status",
              "allocated_at", "accepted_at", "first_action_at", "sla_deadline", "is_reassignment",
              "previous_rm_id", "reassignment_reason", "created_at"}


async def start(client: httpx.AsyncClient, admin: dict[str, str], at: str = NOW) -> None:
    await set_clock(client, admin, at)


async def allocated(client: httpx.AsyncClient, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    response = await allocate(client, headers, **overrides)
    assert response.status_code == 201, response.text
    return response.json()


async def get_allocation(client: httpx.AsyncClient, admin: dict[str, str], allocation_id: str) -> dict[str, Any]:
    response = await client.get(f"{API}/allocations/{allocation_id}", headers=admin)
    assert response.status_code == 200, response.text
    return response.json()


async def get_rm(client: httpx.AsyncClient, admin: dict[str, str], rm_id: str) -> dict[str, Any]:
    response = await client.get(f"{API}/rms/{rm_id}", headers=admin)
    assert response.status_code == 200, response.text
    return response.json()


async def get_pipeline(client: httpx.AsyncClient, admin: dict[str, str], pipeline_id: str) -> dict[str, Any]:
    response = await client.get(f"{API}/pipelines/{pipeline_id}", headers=admin)
    assert response.status_code == 200, response.text
    return response.json()


async def live_of_lead(client: httpx.AsyncClient, admin: dict[str, str], lead_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"{API}/allocations", params={"lead_id": lead_id, "limit": 500}, headers=admin)
    assert response.status_code == 200, response.text
    return [a for a in response.json()["items"]
            if a["status"] in ("PENDING", "ACCEPTED", "ACTIVE", "ESCALATED")]


async def row_counts(engine: Any) -> dict[str, int]:
    """Rows per table that an allocation write touches."""
    async with engine.connect() as conn:
        return {t.name: (await conn.execute(select(func.count()).select_from(t))).scalar_one()
                for t in (rm_allocations, outbox_events, audit_log, pipelines, leads)}


async def active_leads(engine: Any) -> dict[str, int]:
    async with engine.connect() as conn:
        return {str(r.id): r.active_leads for r in (await conn.execute(select(rms.c.id, rms.c.active_leads))).all()}


async def event_data(engine: Any, type_: str) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(outbox_events.c.envelope).where(outbox_events.c.type == type_)
                                   .order_by(outbox_events.c.seq))).scalars().all()
    return [envelope["data"] for envelope in rows]


@contextmanager
def statements_starting(engine: AsyncEngine, prefix: str, *, anywhere: bool = False) -> Iterator[list[str]]:
    """The statements sent on `engine` inside the block that start with `prefix` (case-insensitive; with
    `anywhere`, that hold it: a data-modifying CTE, say)."""
    sent: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        text = statement.lstrip().upper()
        if (prefix.upper() in text) if anywhere else text.startswith(prefix.upper()):
            sent.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    try:
        yield sent
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", seen)

