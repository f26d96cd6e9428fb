"""Console use cases: users, sign-in, sessions. Never commits (sign-in failures are recorded by the caller
in their own transaction, because the failed request's transaction is rolled back)."""
from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from sales.console import repository, security
from sales.console.errors import SignInFailed, SignInThrottled, UserExists
from sales.core import audit
from sales.core.auth import Principal, Role
from sales.core.db import unit_of_work
from sales.core.errors import InvalidInput
from sales.directory import repository as directory_repository

CONSOLE_ROLES = (Role.RM, Role.SUPERVISOR, Role.SALES_ADMIN, Role.FINANCE_ADMIN, Role.SUPPORT_AGENT,
                 Role.PRODUCT_MANAGER)


@dataclass(frozen=True)
class ConsoleUser:
    id: UUID
    email: str
    name: str
    role: Role
    rm_id: UUID | None
    team_ids: tuple[UUID, ...]
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None


def _user(row: Any) -> ConsoleUser:
    return ConsoleUser(id=row.id, email=row.email, name=row.name, role=Role(row.role), rm_id=row.rm_id,
                       team_ids=tuple(UUID(str(t)) for t in row.team_ids or []), is_active=row.is_active,
                       created_at=row.created_at, last_login_at=row.last_login_at)


def principal_for(*, user_id: UUID, role: str, rm_id: UUID | None, team_ids: Any, name: str | None,
                  sid: str | None = None, device_id: str | None = None) -> Principal:
    """The same Principal the API builds from a JWT: an RM acts as their RM id (ARCHITECTURE §2.2)."""
    return Principal(sub=rm_id if role == Role.RM and rm_id else user_id, roles=frozenset({Role(role)}),
                     team_ids=frozenset(UUID(str(t)) for t in team_ids or []), name=name, sid=sid,
                     device_id=device_id)


async def create_user(conn: AsyncConnection, actor: Principal | None, *, email: str, password: str, role: str,
                      name: str | None, rm_id: UUID | None, team_ids: list[UUID], now: datetime,
                      user_id: UUID | None = None) -> ConsoleUser:
    """Create a console user (SALES_ADMIN in the console, or the `sales users create` command)."""
    email = email.strip().lower()
    if "@" not in email or len(email) > 320:
        raise InvalidInput(("email",), "must be an email address")
    try:
        parsed_role = Role(role.strip().upper())
    except ValueError:
        raise InvalidInput(("role",), f"must be one of {', '.join(CONSOLE_ROLES)}") from None
    if parsed_role not in CONSOLE_ROLES:
        raise InvalidInput(("role",), f"must be one of {', '.join(CONSOLE_ROLES)}")
    if problem := security.password_problem(password):
        raise InvalidInput(("password",), problem)
    if parsed_role is Role.RM:
        if rm_id is None:
            raise InvalidInput(("rm_id",), "an RM user needs the RM id it acts as")
        rm = await directory_repository.get_rm(conn, rm_id)
        if rm is None:
            raise InvalidInput(("rm_id",), f"unknown RM {rm_id}")
        team_ids = team_ids or ([rm.team_id] if rm.team_id else [])
        name = name or rm.name
    if parsed_role is Role.SUPERVISOR and not team_ids:
        raise InvalidInput(("team_ids",), "a supervisor needs at least one team")
    if team_ids:
        missing = set(team_ids) - await directory_repository.existing_team_ids(conn, set(team_ids))
        if missing:
            raise InvalidInput(("team_ids",), f"unknown team {sorted(map(str, missing))[0]}")
    if await repository.get_user_by_email(conn, email):
        raise UserExists(f"a console user with email {email} already exists")
    password_hash = await asyncio.to_thread(security.hash_password, password)
    row = await repository.insert_user(conn, {
        "id": user_id or uuid.uuid4(), "email": email, "name": (name or email.split("@")[0]).strip()[:200],
        "password_hash": password_hash, "role": parsed_role.value, "rm_id": rm_id,
        "team_ids": [str(t) for t in team_ids], "is_active": True, "created_at": now, "updated_at": now})
    if row is None:
        raise UserExists(f"a console user with email {email} already exists")
    user = _user(row)
    await audit.record(conn, actor, action="console_user.created", entity_type="console_user", entity_id=user.id,
                       at=now, after={"email": user.email, "role": user.role, "rm_id": user.rm_id,
                                      "team_ids": list(user.team_ids)})
    return user


async def list_users(conn: AsyncConnection) -> list[ConsoleUser]:
    return [_user(r) for r in await repository.list_users(conn)]


@dataclass(frozen=True)
class NewSession:
    token: str
    csrf_token: str
    user: ConsoleUser
    replaced: int


async def sign_in(conn: AsyncConnection, *, email: str, password: str, device_id: str, ip: str,
                  user_agent: str | None, now: datetime) -> NewSession:
    """Check throttling and the password, end this device's previous session, open a new one."""
    email = email.strip().lower()[:320]
    failures = await repository.recent_failures(conn, email=email, ip=ip, since=now - security.ATTEMPT_WINDOW)
    refused = security.throttle(account_and_ip_failures=failures.account_and_ip, ip_failures=failures.ip,
                                account_failures=failures.account, now=now)
    if refused:
        minutes = max(1, round(refused.retry_after_seconds / 60))
        raise SignInThrottled(f"Too many failed sign-in attempts. Try again in about {minutes} minute"
                              f"{'s' if minutes != 1 else ''}.",
                              extra={"retry_after_seconds": refused.retry_after_seconds, "scope": refused.scope})
    row = await repository.get_user_by_email(conn, email)
    ok = await asyncio.to_thread(security.verify_password, row.password_hash if row else None, password)
    if not ok or not row.is_active:
        raise SignInFailed("The email or password is incorrect.")
    await repository.record_attempt(conn, email=email, ip=ip, at=now, succeeded=True)
    # Single session per device (PRD §8.4): a new sign-in here ends the previous one, whoever held it.
    replaced = await repository.end_live_sessions(conn, now=now, reason="REPLACED", device_id=device_id)
    token, csrf = security.new_token(), security.new_token()
    session_id = security.token_digest(token)
    await repository.insert_session(conn, {
        "id": session_id, "user_id": row.id, "device_id": device_id, "csrf_token": csrf, "created_at": now,
        "last_seen_at": now, "ip": ip[:64], "user_agent": (user_agent or "")[:300]})
    await repository.update_user(conn, row.id, {"last_login_at": now})
    user = _user(row)
    actor = principal_for(user_id=user.id, role=user.role, rm_id=user.rm_id, team_ids=user.team_ids,
                          name=user.name, sid=session_id, device_id=device_id)
    await audit.record(conn, actor, action="console_session.started", entity_type="console_session",
                       entity_id=session_id[:16], at=now, after={"device_id": device_id, "replaced": replaced})
    return NewSession(token=token, csrf_token=csrf, user=user, replaced=replaced)


async def record_failed_sign_in(engine: AsyncEngine, *, email: str, ip: str, now: datetime) -> None:
    """In its own transaction: the failed request's transaction is rolled back."""
    async with unit_of_work(engine) as conn:
        await repository.record_attempt(conn, email=email.strip().lower()[:320], ip=ip, at=now, succeeded=False)


@dataclass(frozen=True)
class LiveSession:
    id: str
    csrf_token: str
    principal: Principal
    user_id: UUID
    email: str
    name: str
    role: Role


class SessionRejected(Exception):
    """No usable session; `reason` tells the sign-in page what to say (None: just sign in)."""

    def __init__(self, reason: str | None) -> None:
        super().__init__(reason or "not signed in")
        self.reason = reason


async def resume_session(conn: AsyncConnection, *, token: str | None, device_id: str | None,
                         now: datetime) -> LiveSession:
    """Load the session behind a cookie; end it when idle for 30 business minutes; else record activity."""
    if not token:
        raise SessionRejected(None)
    row = await repository.get_session(conn, security.token_digest(token))
    if row is None:
        raise SessionRejected(None)
    if row.ended_at is not None:
        raise SessionRejected({"REPLACED": "replaced", "IDLE_TIMEOUT": "expired"}.get(row.end_reason))
    if not security.same_token(row.device_id, device_id):
        raise SessionRejected(None)  # a cookie copied to another device is worthless
    if not row.user_is_active:
        await repository.end_session(conn, row.id, now=now, reason="USER_DISABLED")
        raise SessionRejected(None)
    if security.is_idle_expired(row.last_seen_at, now):
        await repository.end_session(conn, row.id, now=now, reason="IDLE_TIMEOUT")
        raise SessionRejected("expired")
    if now > row.last_seen_at:
        await repository.touch_session(conn, row.id, now)
    principal = principal_for(user_id=row.user_id, role=row.user_role, rm_id=row.user_rm_id,
                              team_ids=row.user_team_ids, name=row.user_name, sid=row.id, device_id=row.device_id)
    return LiveSession(id=row.id, csrf_token=row.csrf_token, principal=principal, user_id=row.user_id,
                       email=row.user_email, name=row.user_name, role=Role(row.user_role))


async def sign_out(conn: AsyncConnection, session: LiveSession, *, now: datetime) -> None:
    await repository.end_session(conn, session.id, now=now, reason="SIGNED_OUT")
    await audit.record(conn, session.principal, action="console_session.ended", entity_type="console_session",
                       entity_id=session.id[:16], at=now, after={"reason": "SIGNED_OUT"})
