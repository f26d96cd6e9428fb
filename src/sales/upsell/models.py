"""Upsell (PRD §3.2.2)."""
from __future__ import annotations

from sqlalchemy import Column, Index, String, Table

from sales.core.tables import metadata
from sales.core.types import JSONType, Money, UTCDateTime, UUIDType

UPSELL_STATUSES = ("PENDING", "PRESENTED", "DISMISSED", "CLICKED", "CONVERTED", "EXPIRED")
CHANNELS = ("IN_APP_BANNER", "IN_APP_MODAL", "PUSH_NOTIFICATION", "EMAIL", "SMS", "WHATSAPP", "RM_CALL")
USER_TYPES = ("TENANT", "OWNER", "BUYER")

upsells = Table(
    "upsells", metadata,
    Column("id", UUIDType, primary_key=True),
    Column("user_id", UUIDType, nullable=False),
    Column("user_type", String(16), nullable=False),
    Column("current_plan_id", UUIDType, nullable=True),
    Column("target_plan_id", UUIDType, nullable=False),
    Column("trigger_event", String(128), nullable=False),
    Column("trigger_context", JSONType, nullable=True),
    Column("status", String(16), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("presented_at", UTCDateTime, nullable=True),
    Column("response", String(16), nullable=True),
    Column("converted_at", UTCDateTime, nullable=True),
    Column("conversion_value", Money, nullable=True),
    Column("experiment_variant", String(64), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_upsells_user", "user_id", "created_at"),
)
