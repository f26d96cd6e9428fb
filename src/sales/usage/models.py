"""Plan usage: the latest measurement per user, plan and quota (issue 10 §2 Plan usage; PRD UPR-002)."""
from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKey, String, Table

from sales.core.tables import metadata
from sales.core.types import UTCDateTime, UUIDType

plan_usage = Table(
    "plan_usage", metadata,
    Column("user_id", UUIDType, primary_key=True),
    Column("plan_id", UUIDType, ForeignKey("plans.id"), primary_key=True),
    Column("quota_name", String(64), primary_key=True),
    Column("order_id", UUIDType, nullable=True),
    Column("quota", BigInteger, nullable=True),  # NULL = unlimited
    Column("used", BigInteger, nullable=False),
    # When Entitlements measured it: an older measurement never replaces a newer one.
    Column("at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("quota IS NULL OR quota >= 0", name="quota_non_negative"),
    CheckConstraint("used >= 0", name="used_non_negative"),
)
