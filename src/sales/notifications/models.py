"""Every notification decision: requested (an outbox event went out) or suppressed, once per dedupe key."""
from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, Column, Index, String, Table

from sales.core.tables import metadata
from sales.core.types import JSONType, UTCDateTime, UUIDType

notifications = Table(
    "notifications", metadata,
    Column("id", UUIDType, primary_key=True),
    # The same key never produces two requests (INSERT ... ON CONFLICT DO NOTHING on both databases).
    Column("dedupe_key", String(200), nullable=False, unique=True),
    Column("recipient_type", String(16), nullable=False),
    # NULL only for a SUPERVISOR of a team without a supervisor on record (then team_id says which team).
    Column("recipient_id", UUIDType, nullable=True),
    Column("team_id", UUIDType, nullable=True),
    Column("channel", String(32), nullable=True),
    Column("template", String(100), nullable=False),
    Column("transactional", Boolean, nullable=False),
    Column("status", String(16), nullable=False),
    Column("reason", String(64), nullable=False),
    Column("data", JSONType, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("status IN ('REQUESTED','SUPPRESSED')", name="status_enum"),
    CheckConstraint("recipient_type IN ('RM','CUSTOMER','SUPERVISOR')", name="recipient_type_enum"),
    CheckConstraint("recipient_id IS NOT NULL OR (recipient_type = 'SUPERVISOR' AND team_id IS NOT NULL)",
                    name="has_recipient"),
    Index("ix_notifications_recipient", "recipient_type", "recipient_id", "created_at"),
)
