"""Plans: the subscription catalogue (read model of Entitlements, issue 10 §2; PRD §2.2.1, §5.1)."""
from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, Column, Index, Integer, SmallInteger, String, Table, text

from sales.core.tables import metadata
from sales.core.types import JSONType, Money, UTCDateTime, UUIDType

plans = Table(
    "plans", metadata,
    Column("id", UUIDType, primary_key=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("user_type", String(16), nullable=False),
    Column("tier", SmallInteger, nullable=False),  # rank within the user type; 0 = free
    Column("price", Money, nullable=False),
    Column("duration_days", Integer, nullable=False),
    Column("features", JSONType, nullable=False),  # feature name -> number | boolean | string
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("user_type IN ('TENANT','OWNER','BUYER')", name="user_type_enum"),
    CheckConstraint("tier >= 0", name="tier_non_negative"),
    CheckConstraint("price >= 0", name="price_non_negative"),
    CheckConstraint("duration_days > 0", name="duration_positive"),
    Index("ix_plans_user_type_tier", "user_type", "tier", "code"),
)
