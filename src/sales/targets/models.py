"""SalesTarget (PRD §3.2.4)."""
from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, Date, Index, Numeric, String, Table

from sales.core.tables import metadata
from sales.core.types import UTCDateTime, UUIDType

sales_targets = Table(
    "sales_targets", metadata,
    Column("id", UUIDType, primary_key=True),
    Column("target_type", String(16), nullable=False),   # INDIVIDUAL, TEAM, CITY
    Column("assignee_id", UUIDType, nullable=False),
    Column("period_type", String(16), nullable=False),   # DAILY, WEEKLY, MONTHLY, QUARTERLY
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("metric_type", String(32), nullable=False),
    Column("target_value", Numeric(14, 2), nullable=False),
    Column("achieved_value", Numeric(14, 2), nullable=False),
    Column("achievement_percentage", Numeric(7, 2), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_by", UUIDType, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("period_end >= period_start", name="period_ordered"),
    Index("ix_sales_targets_assignee", "assignee_id", "period_start"),
)
