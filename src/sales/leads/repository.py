"""The lead read model: stored with customer PII encrypted."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, insert, literal_column, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from sales.core.pii import cipher
from sales.leads.models import leads

PII_FIELDS = ("customer_name", "customer_phone", "customer_email")


def _sealed(values: dict[str, Any]) -> dict[str, Any]:
    aead = cipher()
    return {k: aead.encrypt(v) if k in PII_FIELDS else v for k, v in values.items()}


async def get(conn: AsyncConnection, lead_id: UUID, *, for_update: bool = False) -> Any:
    query = select(leads).where(leads.c.id == lead_id)
    if for_update:
        query = query.with_for_update()
    return (await conn.execute(query)).first()


async def insert_lead(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(insert(leads).values(**_sealed(values)))


async def update_lead(conn: AsyncConnection, lead_id: UUID, values: dict[str, Any], *, now: datetime) -> None:
    await conn.execute(update(leads).where(leads.c.id == lead_id).values(**_sealed(values), updated_at=now))


def customer_of(row: Any) -> dict[str, Any]:
    aead = cipher()
    return {"id": row.customer_id, "name": aead.decrypt(row.customer_name),
            "phone": aead.decrypt(row.customer_phone), "email": aead.decrypt(row.customer_email)}


async def upsert_and_lock(conn: AsyncConnection, values: dict[str, Any], *, now: datetime,
                          refresh_facts: bool) -> Any:
    """Insert the lead, or lock the stored one: concurrent allocations of one lead serialize. A stored lead's
    facts (customer, place, property, value...) are rewritten only with `refresh_facts`, i.e. by the Leads
    domain that owns them; otherwise the stored row is returned unchanged."""
    return (await conn.execute(_upsert(conn, values, now=now, refresh_facts=refresh_facts))).one()


async def upsert_and_lock_unless(conn: AsyncConnection, values: dict[str, Any], *, now: datetime,
                                 refresh_facts: bool, unless: ColumnElement[bool]) -> tuple[Any, bool]:
    """`upsert_and_lock`, except that a stored lead is locked but neither rewritten nor returned while `unless`
    holds (evaluated as a look-up before the statement would be): (None, False). Otherwise (the row, whether this
    statement inserted it); on SQLite `inserted` is always False (it cannot tell)."""
    statement = _upsert(conn, values, now=now, refresh_facts=refresh_facts, unless=unless)
    if conn.dialect.name != "postgresql":
        return (await conn.execute(statement)).first(), False
    row = (await conn.execute(statement.returning(literal_column("xmax = 0").label("inserted")))).first()
    return (row, bool(row.inserted)) if row is not None else (None, False)


def _upsert(conn: AsyncConnection, values: dict[str, Any], *, now: datetime, refresh_facts: bool,
            unless: ColumnElement[bool] | None = None) -> Any:
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    sealed = _sealed(values)
    if refresh_facts:
        refreshed = {k: v for k, v in sealed.items()
                     if v is not None and k not in ("id", "created_at", "allocation_status", "sla_breaches")}
        changes = {**refreshed, "updated_at": now}
    else:
        changes = {"updated_at": leads.c.updated_at}  # writes nothing new, but still takes the row lock
    # ON CONFLICT DO UPDATE takes the row lock on PostgreSQL; SQLite holds the write lock from here on.
    return dialect_insert(leads).values(**sealed).on_conflict_do_update(
        index_elements=[leads.c.id], set_=changes, where=None if unless is None else ~unless).returning(*leads.c)


async def latest_of_customer(conn: AsyncConnection, customer_id: UUID) -> Any:
    """The newest lead naming this customer that carries any contact detail (None when there is none)."""
    query = (select(leads.c.id, leads.c.customer_id, leads.c.customer_name, leads.c.customer_phone,
                    leads.c.customer_email)
             .where(leads.c.customer_id == customer_id,
                    or_(leads.c.customer_name.is_not(None), leads.c.customer_phone.is_not(None),
                        leads.c.customer_email.is_not(None)))
             .order_by(leads.c.created_at.desc(), leads.c.id.desc()).limit(1))
    return (await conn.execute(query)).first()
