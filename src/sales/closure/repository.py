"""The only place deal-closure SQL lives."""
from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from sales.closure.models import deal_checklists, deal_documents
from sales.core.db import dialect_insert
from sales.leads.models import leads


async def checklist(conn: AsyncConnection, pipeline_id: UUID) -> Any:
    return (await conn.execute(select(deal_checklists).where(deal_checklists.c.pipeline_id == pipeline_id))).first()


async def lead_segment(conn: AsyncConnection, lead_id: UUID) -> str | None:
    return (await conn.execute(select(leads.c.segment).where(leads.c.id == lead_id))).scalar()


async def save_checklist(conn: AsyncConnection, values: dict[str, Any], *, version: int) -> bool:
    """Insert version 1, or move `version` to `version + 1`; False when another change came first."""
    if version == 0:
        statement = dialect_insert(conn, deal_checklists).values(**values, version=1).on_conflict_do_nothing(
            index_elements=[deal_checklists.c.pipeline_id]).returning(deal_checklists.c.pipeline_id)
        return (await conn.execute(statement)).first() is not None
    result = await conn.execute(update(deal_checklists).where(
        deal_checklists.c.pipeline_id == values["pipeline_id"], deal_checklists.c.version == version).values(
        **values, version=version + 1))
    return result.rowcount == 1


async def insert_document(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(insert(deal_documents).values(**values))


async def documents(conn: AsyncConnection, pipeline_id: UUID) -> list[Any]:
    query = select(deal_documents).where(deal_documents.c.pipeline_id == pipeline_id).order_by(
        deal_documents.c.uploaded_at, deal_documents.c.id)
    return list((await conn.execute(query)).all())


async def stored_keys(conn: AsyncConnection, keys: list[str]) -> set[str]:
    """Which of `keys` a document row names (files are shared by content: several rows may name one)."""
    if not keys:
        return set()
    query = select(deal_documents.c.storage_key).where(deal_documents.c.storage_key.in_(keys)).distinct()
    return set((await conn.execute(query)).scalars())
