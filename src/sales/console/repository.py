"""The only place console SQL lives."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from sales.console.models import console_login_attempts as attempts, console_sessions as s, console_users as u
from sales.core.db import insert_unless_exists


async def get_user_by_email(conn: AsyncConnection, email: str) -> Any:
    return (await conn.execute(select(u).where(u.c.email == email.strip().lower()))).first()


async def get_user(conn: AsyncConnection, user_id: UUID) -> Any:
    return (await conn.execute(select(u).where(u.c.id == user_id))).first()


async def insert_user(conn: AsyncConnection, values: dict[str, Any]) -> Any:
    """The new user, or None when a user with this email exists (also one created concurrently)."""
    query = insert_unless_exists(conn, u, u.c.email).values(**values).returning(*u.c)
    return (await conn.execute(query)).first()


async def list_users(conn: AsyncConnection, *, limit: int = 500) -> list[Any]:
    return list((await conn.execute(select(u).order_by(u.c.role, u.c.email).limit(limit))).all())


async def update_user(conn: AsyncConnection, user_id: UUID, values: dict[str, Any]) -> None:
    await conn.execute(update(u).where(u.c.id == user_id).values(**values))


async def end_live_sessions(conn: AsyncConnection, *, now: datetime, reason: str, device_id: str | None = None,
                            user_id: UUID | None = None) -> int:
    query = update(s).where(s.c.ended_at.is_(None)).values(ended_at=now, end_reason=reason)
    if device_id is not None:
        query = query.where(s.c.device_id == device_id)
    if user_id is not None:
        query = query.where(s.c.user_id == user_id)
    return (await conn.execute(query)).rowcount


async def insert_session(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(insert(s).values(**values))


async def get_session(conn: AsyncConnection, session_id: str) -> Any:
    """The session with its user's fields (prefixed user_)."""
    query = select(*s.c, u.c.email.label("user_email"), u.c.name.label("user_name"), u.c.role.label("user_role"),
                   u.c.rm_id.label("user_rm_id"), u.c.team_ids.label("user_team_ids"),
                   u.c.is_active.label("user_is_active")).select_from(s.join(u, u.c.id == s.c.user_id)).where(
        s.c.id == session_id)
    return (await conn.execute(query)).first()


async def touch_session(conn: AsyncConnection, session_id: str, now: datetime) -> None:
    await conn.execute(update(s).where(s.c.id == session_id, s.c.ended_at.is_(None)).values(last_seen_at=now))


async def end_session(conn: AsyncConnection, session_id: str, *, now: datetime, reason: str) -> None:
    await conn.execute(update(s).where(s.c.id == session_id, s.c.ended_at.is_(None))
                       .values(ended_at=now, end_reason=reason))


async def record_attempt(conn: AsyncConnection, *, email: str, ip: str, at: datetime, succeeded: bool) -> None:
    await conn.execute(insert(attempts).values(email=email, ip=ip, at=at, succeeded=succeeded))


async def recent_failures(conn: AsyncConnection, *, email: str, ip: str, since: datetime) -> tuple[list[datetime],
                                                                                                  list[datetime]]:
    """Failure times inside the window: for the account (after its last success) and for the IP."""
    last_ok = (await conn.execute(select(func.max(attempts.c.at)).where(
        attempts.c.email == email, attempts.c.succeeded.is_(True)))).scalar()
    account_since = max(since, last_ok) if last_ok else since
    account = (await conn.execute(select(attempts.c.at).where(and_(
        attempts.c.email == email, attempts.c.succeeded.is_(False), attempts.c.at > account_since)))).scalars().all()
    by_ip = (await conn.execute(select(attempts.c.at).where(and_(
        attempts.c.ip == ip, attempts.c.succeeded.is_(False), attempts.c.at > since)))).scalars().all()
    return list(account), list(by_ip)
