"""Handoffs between the self-service and the assisted (RM) journey (issue 15)."""
from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, Index, String, Table

from sales.core.sealed import SealedJSON, SealedText
from sales.core.tables import metadata
from sales.core.types import JSONType, UTCDateTime, UUIDType

handoffs = Table(
    "sales_handoffs", metadata,
    Column("id", UUIDType, primary_key=True),
    Column("user_id", UUIDType, nullable=False),
    Column("direction", String(16), nullable=False),
    Column("reason", SealedText, nullable=False),  # the customer's words: sealed
    Column("context", SealedJSON, nullable=True),  # what the customer was doing: sealed
    Column("outcome", String(16), nullable=False),  # ALLOCATED | QUEUED (to assisted), CLOSED (to self-service)
    Column("lead_id", UUIDType, nullable=True),
    Column("allocation_id", UUIDType, nullable=True),
    Column("rm_id", UUIDType, nullable=True),
    Column("pipeline_ids", JSONType, nullable=False),
    Column("created_by", UUIDType, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("direction IN ('TO_ASSISTED','TO_SELF_SERVICE')", name="direction_enum"),
    CheckConstraint("outcome IN ('ALLOCATED','QUEUED','CLOSED')", name="outcome_enum"),
    Index("ix_sales_handoffs_user", "user_id", "created_at"),
)

# One row per user, upserted first by every handoff: on PostgreSQL its row lock serializes two handoffs of the
# same user until commit (SQLite serializes every write transaction), so a user never gets two assisted leads.
handoff_users = Table(
    "sales_handoff_users", metadata,
    Column("user_id", UUIDType, primary_key=True),
    Column("touched_at", UTCDateTime, nullable=False),
)
