"""Follow-up tasks of RMs (issue 15): made by hand or automatically (after visits, on a stale stage)."""
from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, String, Table, text

from sales.core.sealed import SealedText
from sales.core.tables import metadata
from sales.core.types import UTCDateTime, UUIDType

tasks = Table(
    "sales_tasks", metadata,
    Column("id", UUIDType, primary_key=True),
    Column("type", String(24), nullable=False),
    Column("status", String(16), nullable=False),
    Column("pipeline_id", UUIDType, ForeignKey("sales_pipelines.id", ondelete="CASCADE"), nullable=True),
    Column("rm_id", UUIDType, ForeignKey("rms.id"), nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("notes", SealedText, nullable=True),  # may hold contacts: sealed
    Column("source", String(24), nullable=False),  # MANUAL | VISIT_PLAN | STAGE_AGE | SHORTLIST_FEEDBACK
    Column("source_key", String(200), nullable=True),  # an automatic task is made once per cause
    Column("created_by", UUIDType, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime, nullable=True),
    CheckConstraint("type IN ('CALL','VISIT_FOLLOW_UP','DOCUMENTS','CUSTOM')", name="type_enum"),
    CheckConstraint("status IN ('OPEN','DONE','CANCELLED')", name="status_enum"),
    Index("ix_sales_tasks_rm_due", "rm_id", "due_at", "id"),
    Index("ix_sales_tasks_pipeline", "pipeline_id"),
    Index("ix_sales_tasks_due", "due_at", "id"),
    Index("uq_sales_tasks_source_key", "source_key", unique=True,
          postgresql_where=text("source_key IS NOT NULL"), sqlite_where=text("source_key IS NOT NULL")),
)
