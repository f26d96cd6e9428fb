"""The dashboard pages' snapshots (issue 18): a team's, a city's dashboard or a forecast, computed once and served
to the console until refreshed (the API always measures live)."""
from __future__ import annotations

from sqlalchemy import Column, Date, Index, PrimaryKeyConstraint, String, Table

from sales.core.tables import metadata
from sales.core.types import JSONType, UTCDateTime

dashboard_snapshots = Table(
    "dashboard_snapshots", metadata,
    Column("kind", String(16), nullable=False),  # rm | team | city | forecast
    Column("scope_key", String(160), nullable=False),  # RM id, team id, city (lower-case), "team:<id>" / "city:<name>"
    Column("period_type", String(16), nullable=False),
    Column("period_start", Date, nullable=False),
    Column("payload", JSONType, nullable=False),  # the API's read model of it, as JSON
    Column("computed_at", UTCDateTime, nullable=False),
    Column("read_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("kind", "scope_key", "period_type", "period_start"),
    Index("ix_dashboard_snapshots_read", "read_at"),
)
