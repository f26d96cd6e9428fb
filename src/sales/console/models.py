"""Console users, their server-side sessions (one live session per device) and sign-in attempts."""
from __future__ import annotations

from sqlalchemy import Boolean, Column, ForeignKey, Index, String, Table, text

from sales.core.tables import metadata
from sales.core.types import BigIntPK, JSONType, UTCDateTime, UUIDType

console_users = Table(
    "console_users", metadata,
    Column("id", UUIDType, primary_key=True),
    Column("email", String(320), nullable=False, unique=True),  # stored lower-cased
    Column("name", String(200), nullable=False),
    Column("password_hash", String(255), nullable=False),  # Argon2id
    Column("role", String(32), nullable=False),
    # An RM's console user acts as that RM (principal sub = rm_id, ARCHITECTURE §2.2).
    Column("rm_id", UUIDType, nullable=True),
    Column("team_ids", JSONType, nullable=False),
    Column("is_active", Boolean, nullable=False, server_default=text("true")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("last_login_at", UTCDateTime, nullable=True),
)

_LIVE = "ended_at IS NULL"

console_sessions = Table(
    "console_sessions", metadata,
    Column("id", String(64), primary_key=True),  # sha256 of the cookie token; the token itself is never stored
    Column("user_id", UUIDType, ForeignKey("console_users.id", ondelete="CASCADE"), nullable=False),
    Column("device_id", String(64), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),  # business clock; idle expiry measured from here
    Column("ended_at", UTCDateTime, nullable=True),
    Column("end_reason", String(32), nullable=True),  # SIGNED_OUT | IDLE_TIMEOUT | REPLACED | USER_DISABLED
    Column("ip", String(64), nullable=True),
    Column("user_agent", String(300), nullable=True),
    # Single session per device (PRD §8.4), held by the database too.
    Index("uq_console_sessions_live_device", "device_id", unique=True,
          postgresql_where=text(_LIVE), sqlite_where=text(_LIVE)),
    Index("ix_console_sessions_user", "user_id", "created_at"),
)

console_login_attempts = Table(
    "console_login_attempts", metadata,
    Column("seq", BigIntPK, primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False),
    Column("ip", String(64), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("succeeded", Boolean, nullable=False),
    Index("ix_console_login_attempts_email_at", "email", "at"),
    Index("ix_console_login_attempts_ip_at", "ip", "at"),
)
