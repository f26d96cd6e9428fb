"""The only place console SQL lives."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, insert, select, update
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


@dataclass(frozen=True)
class RecentFailures:
    """Failed sign-in times inside the throttling window, by what they are counted against."""

    account_and_ip: list[datetime]
    ip: list[datetime]
    account: list[datetime]


async def recent_failures(conn: AsyncConnection, *, email: str, ip: str, since: datetime) -> RecentFailures:
    """The account-and-address failures count only after that address's last successful sign-in."""
    last_ok_here = (await conn.execute(select(func.max(attempts.c.at)).where(
        attempts.c.email == email, attempts.c.ip == ip, attempts.c.succeeded.is_(True)))).scalar()

    async def failure_times(*where: Any) -> list[datetime]:
        query = select(attempts.c.at).where(attempts.c.succeeded.is_(False), *where)
        return list((await conn.execute(query)).scalars().all())

    return RecentFailures(
        account_and_ip=await failure_times(attempts.c.email == email, attempts.c.ip == ip,
                                           attempts.c.at > max(since, last_ok_here or since)),
        ip=await failure_times(attempts.c.ip == ip, attempts.c.at > since),
        account=await failure_times(attempts.c.email == email, attempts.c.at > since))
