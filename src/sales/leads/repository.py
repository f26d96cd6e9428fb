"""The lead read model: stored with customer PII encrypted."""
from __future__ import annotations

import functools
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, bindparam, insert, literal_column, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from sales.core.db import bound_values, insert_for, is_postgres
from sales.core.direct import Direct
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
    await conn.execute(_UPDATE_LEAD, {**_sealed(values), "updated_at": now, "lead_key": lead_id})


# Built once (issue 19: no per-request statement construction); the parameters named like columns are the new
# values (SQLAlchemy compiles it once per set of columns), `lead_key` names the row.
_UPDATE_LEAD = update(leads).where(leads.c.id == bindparam("lead_key", type_=leads.c.id.type))

# A lead given to an RM: ALLOCATED, out of the queue. Built once, its parameters named apart from any column
# (`allocated_lead`, `allocated_lead_at`: `allocated_params`), so that it can run inside another table's INSERT.
MARK_ALLOCATED = update(leads).where(leads.c.id == bindparam("allocated_lead", type_=leads.c.id.type)).values(
    allocation_status="ALLOCATED", queue_reason=None, queued_at=None,
    updated_at=bindparam("allocated_lead_at", type_=leads.c.updated_at.type))


def allocated_params(lead_id: UUID, *, now: datetime) -> dict[str, Any]:
    return {"allocated_lead": lead_id, "allocated_lead_at": now}


def customer_of(row: Any) -> dict[str, Any]:
    aead = cipher()
    return {"id": row.customer_id, "name": aead.decrypt(row.customer_name),
            "phone": aead.decrypt(row.customer_phone), "email": aead.decrypt(row.customer_email)}


async def upsert_and_lock(conn: AsyncConnection, values: dict[str, Any], *, now: datetime,
                          refresh_facts: bool) -> Any:
    """Insert the lead, or lock the stored one: concurrent allocations of one lead serialize. A stored lead's
    facts (customer, place, property, value...) are rewritten only with `refresh_facts`, i.e. by the Leads
    domain that owns them; otherwise the stored row is returned unchanged."""
    sealed = _sealed(values)
    statement = _upsert_statement(is_postgres(conn), tuple(sealed), _refreshed(sealed, refresh_facts), None,
                                  inserted=False)
    return await statement.one(conn, {**sealed, "refreshed_at": now})


async def upsert_and_lock_unless(conn: AsyncConnection, values: dict[str, Any], *, now: datetime,
                                 refresh_facts: bool, unless: ColumnElement[bool],
                                 unless_params: dict[str, Any]) -> tuple[Any, bool]:
    """`upsert_and_lock`, except that a stored lead is locked but neither rewritten nor returned while `unless`
    (with its bound parameters `unless_params`; a condition built once) holds, evaluated as a look-up before the
    statement would be: (None, False). Otherwise (the row, whether this statement inserted it); on SQLite
    `inserted` is always False (it cannot tell)."""
    postgres, sealed = is_postgres(conn), _sealed(values)
    statement = _upsert_statement(postgres, tuple(sealed), _refreshed(sealed, refresh_facts), unless,
                                  inserted=postgres)
    row = await statement.first(conn, {**sealed, **unless_params, "refreshed_at": now})
    if not postgres:
        return row, False
    return (row, bool(row.inserted)) if row is not None else (None, False)


_NEVER_REFRESHED = ("id", "created_at", "updated_at", "allocation_status", "sla_breaches")


def _refreshed(sealed: dict[str, Any], refresh_facts: bool) -> tuple[str, ...] | None:
    """The columns a stored lead takes from this delivery: with `refresh_facts` its facts that are given (not
    None); None: nothing (the stored row is only locked)."""
    if not refresh_facts:
        return None
    return tuple(k for k, v in sealed.items() if v is not None and k not in _NEVER_REFRESHED)


@functools.lru_cache(maxsize=256)
def _upsert_statement(postgres: bool, columns: tuple[str, ...], refreshed: tuple[str, ...] | None,
                      unless: ColumnElement[bool] | None, *, inserted: bool) -> Direct:
    """INSERT ... ON CONFLICT (id) DO UPDATE ... RETURNING the lead (and on PostgreSQL with `inserted`, whether
    this statement inserted it), built once per shape (issue 19): the lead's `columns` are bound by their names,
    the time of a refresh as `refreshed_at`. ON CONFLICT DO UPDATE takes the row lock on PostgreSQL; SQLite holds
    the write lock from here on. Without `refreshed` the stored row's update writes nothing new."""
    statement = insert_for(postgres, leads).values(bound_values(leads, columns))
    if refreshed is None:
        changes = {"updated_at": leads.c.updated_at}
    else:
        changes = {**{k: statement.excluded[k] for k in refreshed},
                   "updated_at": bindparam("refreshed_at", type_=leads.c.updated_at.type)}
    statement = statement.on_conflict_do_update(index_elements=[leads.c.id], set_=changes,
                                                where=None if unless is None else ~unless)
    if inserted:
        return Direct(statement.returning(*leads.c, literal_column("xmax = 0").label("inserted")))
    return Direct(statement.returning(*leads.c))


async def latest_of_customer(conn: AsyncConnection, customer_id: UUID) -> Any:
    """The newest lead naming this customer that carries any contact detail (None when there is none)."""
    query = (select(leads.c.id, leads.c.customer_id, leads.c.customer_name, leads.c.customer_phone,
                    leads.c.customer_email)
             .where(leads.c.customer_id == customer_id,
                    or_(leads.c.customer_name.is_not(None), leads.c.customer_phone.is_not(None),
                        leads.c.customer_email.is_not(None)))
             .order_by(leads.c.created_at.desc(), leads.c.id.desc()).limit(1))
    return (await conn.execute(query)).first()
