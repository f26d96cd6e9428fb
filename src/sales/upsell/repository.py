"""The only place upsell SQL lives."""
from __future__ import annotations

import functools
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (ColumnElement, and_, bindparam, case, distinct, exists, false, func, literal, or_, select, true,
                        Table, update)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from sales.core.auth import Principal, Role
from sales.core.db import bound_values, is_postgres
from sales.core.direct import Direct
from sales.customers.models import customer_preferences
from sales.upsell.models import (upsell_decisions, upsell_trigger_configs, upsell_trigger_fires,
                                 upsell_user_gates, upsells)
from sales.upsell.permissions import UPSELLS_ORG_WIDE


def _insert(conn: AsyncConnection, table: Any) -> Any:
    return (postgresql.insert if is_postgres(conn) else sqlite.insert)(table)


def readable(principal: Principal, user_column: Any = upsells.c.user_id) -> ColumnElement[bool]:
    """Org-wide readers see every upsell (and decision); a CUSTOMER their own (user_id = sub); others nothing."""
    if principal.has(*UPSELLS_ORG_WIDE):
        return true()
    if principal.has(Role.CUSTOMER):
        return user_column == principal.sub
    return false()


# --- gating inputs -------------------------------------------------------------------------------

# The gating's statements, built once per dialect (issue 19: every upsell decision runs them).
# On PostgreSQL they go to asyncpg directly (core.direct).
def _lock_user(dialect_insert: Any) -> Direct:
    g = upsell_user_gates
    statement = dialect_insert(g).values(user_id=bindparam("user_id", type_=g.c.user_id.type),
                                         touched_at=bindparam("touched_at", type_=g.c.touched_at.type))
    return Direct(statement.on_conflict_do_update(index_elements=["user_id"],
                                                  set_={"touched_at": statement.excluded.touched_at}))


_LOCK_USER = {True: _lock_user(postgresql.insert), False: _lock_user(sqlite.insert)}
_USER = bindparam("user_id", type_=upsells.c.user_id.type)
_LAST_DISMISSED_AT = Direct(select(func.max(upsells.c.dismissed_at)).where(upsells.c.user_id == _USER))
_CREATED_SINCE = Direct(select(upsells.c.created_at).where(
    upsells.c.user_id == _USER, upsells.c.created_at > bindparam("since", type_=upsells.c.created_at.type)))


async def lock_user(conn: AsyncConnection, user_id: UUID, now: datetime) -> None:
    """Upsert the user's gate row: on PostgreSQL its row lock serializes this user's decisions until commit, so
    two concurrent decisions never both pass UPR-005 on the same count (SQLite serializes writers anyway)."""
    await _LOCK_USER[is_postgres(conn)].rows(conn, {"user_id": user_id, "touched_at": now})


async def last_dismissed_at(conn: AsyncConnection, user_id: UUID) -> datetime | None:
    return (await _LAST_DISMISSED_AT.one(conn, {"user_id": user_id}))[0]


async def created_since(conn: AsyncConnection, user_id: UUID, since: datetime) -> list[datetime]:
    return [r.created_at for r in await _CREATED_SINCE.rows(conn, {"user_id": user_id, "since": since})]


async def last_upsell(conn: AsyncConnection, user_id: UUID) -> Any:
    query = (select(upsells.c.id, upsells.c.created_at).where(upsells.c.user_id == user_id)
             .order_by(upsells.c.created_at.desc(), upsells.c.id.desc()).limit(1))
    return (await conn.execute(query)).first()


# --- upsells -------------------------------------------------------------------------------------

async def insert(conn: AsyncConnection, values: dict[str, Any]) -> Any:
    return await _insert_returning(upsells, tuple(values)).one(conn, values)


@functools.lru_cache(maxsize=16)
def _insert_returning(table: Table, columns: tuple[str, ...]) -> Direct:
    """INSERT of these columns RETURNING the row, built once per table and set of columns (issue 19)."""
    return Direct(table.insert().values(bound_values(table, columns)).returning(table))


async def get(conn: AsyncConnection, upsell_id: UUID, *, scope: ColumnElement[bool] = true()) -> Any:
    return (await conn.execute(select(upsells).where(upsells.c.id == upsell_id, scope))).first()


async def list_(conn: AsyncConnection, *, scope: ColumnElement[bool], filters: dict[str, Any], limit: int,
                after: tuple[datetime, UUID] | None) -> list[Any]:
    """Newest first, keyset-paginated on (created_at, id)."""
    query = select(upsells).where(scope)
    for name in ("user_id", "status", "channel", "trigger_event", "experiment_variant"):
        if filters.get(name) is not None:
            query = query.where(upsells.c[name] == filters[name])
    if filters.get("created_from") is not None:
        query = query.where(upsells.c.created_at >= filters["created_from"])
    if filters.get("created_to") is not None:
        query = query.where(upsells.c.created_at < filters["created_to"])
    if after is not None:
        query = query.where(or_(upsells.c.created_at < after[0],
                                and_(upsells.c.created_at == after[0], upsells.c.id < after[1])))
    query = query.order_by(upsells.c.created_at.desc(), upsells.c.id.desc()).limit(limit + 1)
    return list((await conn.execute(query)).all())


async def move(conn: AsyncConnection, upsell_id: UUID, *, from_: tuple[str, ...], values: dict[str, Any]) -> Any:
    """Compare-and-set: apply `values` only while the upsell is in one of `from_`; None when it is not."""
    statement = (update(upsells).where(upsells.c.id == upsell_id, upsells.c.status.in_(from_))
                 .values(**values).returning(upsells))
    return (await conn.execute(statement)).first()


async def claim_checkout(conn: AsyncConnection, upsell_id: UUID, *, open_: tuple[str, ...],
                         values: dict[str, Any]) -> Any:
    """Set the payment request once: only while none is set and the upsell is open; None otherwise."""
    statement = (update(upsells).where(upsells.c.id == upsell_id, upsells.c.payment_request_id.is_(None),
                                       upsells.c.status.in_(open_))
                 .values(**values).returning(upsells))
    return (await conn.execute(statement)).first()


async def expire_due(conn: AsyncConnection, *, now: datetime, open_: tuple[str, ...], limit: int) -> list[Any]:
    """Move open upsells whose offer window ended to EXPIRED (one conditional UPDATE per batch)."""
    due = (select(upsells.c.id).where(upsells.c.status.in_(open_), upsells.c.expires_at <= now)
           .order_by(upsells.c.expires_at, upsells.c.id).limit(limit))
    ids = [r.id for r in await conn.execute(due)]
    if not ids:
        return []
    statement = (update(upsells).where(upsells.c.id.in_(ids), upsells.c.status.in_(open_),
                                       upsells.c.expires_at <= now)
                 .values(status="EXPIRED", updated_at=now).returning(upsells))
    return list((await conn.execute(statement)).all())


async def attributable(conn: AsyncConnection, *, user_id: UUID, plan_id: UUID, paid_at: datetime, window: Any,
                       statuses: tuple[str, ...]) -> Any:
    """The user's latest not-yet-converted upsell recommending `plan_id` created in (paid_at - window, paid_at]."""
    query = (select(upsells).where(upsells.c.user_id == user_id, upsells.c.target_plan_id == plan_id,
                                   upsells.c.status.in_(statuses), upsells.c.created_at <= paid_at,
                                   upsells.c.created_at > paid_at - window)
             .order_by(upsells.c.created_at.desc(), upsells.c.id.desc()).limit(1))
    return (await conn.execute(query)).first()


# --- decisions and trigger fires -----------------------------------------------------------------

async def insert_decision(conn: AsyncConnection, values: dict[str, Any]) -> Any:
    return await _insert_returning(upsell_decisions, tuple(values)).one(conn, values)


async def decisions_of(conn: AsyncConnection, *, user_id: UUID, scope: ColumnElement[bool], limit: int,
                       after: tuple[datetime, UUID] | None) -> list[Any]:
    query = select(upsell_decisions).where(upsell_decisions.c.user_id == user_id, scope)
    if after is not None:
        query = query.where(or_(upsell_decisions.c.decided_at < after[0],
                                and_(upsell_decisions.c.decided_at == after[0], upsell_decisions.c.id < after[1])))
    query = query.order_by(upsell_decisions.c.decided_at.desc(), upsell_decisions.c.id.desc()).limit(limit + 1)
    return list((await conn.execute(query)).all())


async def has_fired(conn: AsyncConnection, user_id: UUID, cause: str) -> bool:
    query = select(upsell_trigger_fires.c.user_id).where(upsell_trigger_fires.c.user_id == user_id,
                                                         upsell_trigger_fires.c.cause == cause)
    return (await conn.execute(query)).first() is not None


async def record_fire(conn: AsyncConnection, values: dict[str, Any]) -> bool:
    statement = _insert(conn, upsell_trigger_fires).values(**values).on_conflict_do_nothing(
        index_elements=["user_id", "cause"])
    return (await conn.execute(statement)).rowcount == 1


FUNNEL_KEYS = {"trigger": upsells.c.trigger_event, "channel": upsells.c.channel, "user_type": upsells.c.user_type,
               "variant": upsells.c.experiment_variant}


async def funnel(conn: AsyncConnection, *, since: datetime, until: datetime, group_by: str | None) -> list[Any]:
    """Funnel counts and revenue of the upsells created in [since, until), per group (one statement)."""
    key = FUNNEL_KEYS[group_by] if group_by else literal("ALL")

    def flag(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    converted = upsells.c.status == "CONVERTED"
    query = (select(key.label("key"), func.count().label("created"),
                    flag(upsells.c.presented_at.is_not(None)).label("presented"),
                    flag(upsells.c.clicked_at.is_not(None)).label("clicked"),
                    flag(converted).label("converted"),
                    flag(upsells.c.status == "DISMISSED").label("dismissed"),
                    flag(upsells.c.status == "EXPIRED").label("expired"),
                    func.coalesce(func.sum(case((converted, upsells.c.conversion_value), else_=None)), 0)
                    .label("revenue"))
             .where(upsells.c.created_at >= since, upsells.c.created_at < until)
             .group_by(key).order_by(key))
    return list((await conn.execute(query)).all())


# --- trigger configuration -------------------------------------------------------------------------------

_LATEST_CONFIG = Direct(select(upsell_trigger_configs).order_by(upsell_trigger_configs.c.version.desc()).limit(1))


async def latest_config(conn: AsyncConnection) -> Any:
    return await _LATEST_CONFIG.first(conn, {})


async def insert_config(conn: AsyncConnection, values: dict[str, Any]) -> bool:
    """Add a version; False when that version exists (a concurrent PUT got there first)."""
    statement = _insert(conn, upsell_trigger_configs).values(**values).on_conflict_do_nothing(
        index_elements=["version"])
    return (await conn.execute(statement)).rowcount == 1


# --- experiments (issue 16) ------------------------------------------------------------------------------

def _experiment_window(query: Any, experiment_id: UUID, after: datetime | None, through: datetime | None) -> Any:
    query = query.where(upsells.c.experiment_id == experiment_id, upsells.c.presented_at.is_not(None))
    if after is not None:
        query = query.where(upsells.c.created_at > after)
    if through is not None:
        query = query.where(upsells.c.created_at <= through)
    return query


async def experiment_arms(conn: AsyncConnection, *, experiment_id: UUID, after: datetime | None,
                          through: datetime | None) -> list[Any]:
    """Per variant of an experiment, over its upsells created in (after, through] that were PRESENTED: exposed users,
    users who converted (and the revenue), users who dismissed, users who opted out of marketing after exposure."""
    def users_where(condition: Any) -> Any:
        return func.count(distinct(case((condition, upsells.c.user_id), else_=None)))

    opted_out = exists().where(customer_preferences.c.user_id == upsells.c.user_id,
                               customer_preferences.c.marketing_opt_out.is_(True),
                               customer_preferences.c.updated_at >= upsells.c.presented_at)
    converted = upsells.c.status == "CONVERTED"
    query = select(upsells.c.experiment_variant.label("variant"),
                   func.count(distinct(upsells.c.user_id)).label("users"),
                   users_where(converted).label("conversions"),
                   func.coalesce(func.sum(case((converted, upsells.c.conversion_value), else_=None)), 0)
                   .label("revenue"),
                   users_where(upsells.c.dismissed_at.is_not(None)).label("dismissals"),
                   users_where(opted_out).label("opt_outs"))
    query = _experiment_window(query, experiment_id, after, through).group_by(upsells.c.experiment_variant)
    return list((await conn.execute(query)).all())


async def experiment_exposures(conn: AsyncConnection, *, experiment_id: UUID, after: datetime | None,
                               through: datetime | None) -> list[Any]:
    """One row per exposed user and variant: first exposure and whether the user converted (for the timeline)."""
    converted = func.max(case((upsells.c.status == "CONVERTED", 1), else_=0))
    query = select(upsells.c.experiment_variant.label("variant"), upsells.c.user_id,
                   func.min(upsells.c.presented_at).label("exposed_at"), converted.label("converted"))
    query = _experiment_window(query, experiment_id, after, through).group_by(upsells.c.experiment_variant,
                                                                            upsells.c.user_id)
    return list((await conn.execute(query)).all())
