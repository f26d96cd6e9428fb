"""SalesPipeline (PRD §3.2.1) and its append-only stage history."""
from __future__ import annotations

from sqlalchemy import (CheckConstraint, Column, Date, ForeignKey, Index, SmallInteger, String, Table, Text, text)

from sales.core.sealed import SealedText
from sales.core.tables import metadata
from sales.core.types import BigIntPK, Money, UTCDateTime, UUIDType

OPEN = "outcome = 'PENDING'"  # an open pipeline: not yet CLOSED_WON / CLOSED_LOST

sales_pipelines = Table(
    "sales_pipelines", metadata,
    Column("id", UUIDType, primary_key=True),
    Column("lead_id", UUIDType, nullable=False),
    Column("rm_id", UUIDType, ForeignKey("rms.id"), nullable=False),
    Column("stage", String(32), nullable=False),
    Column("source", String(32), nullable=False),
    Column("deal_value", Money, nullable=True),
    Column("probability", SmallInteger, nullable=True),
    Column("expected_close_date", Date, nullable=True),
    Column("actual_close_date", Date, nullable=True),
    Column("outcome", String(16), nullable=False),
    Column("loss_reason", Text, nullable=True),
    Column("notes", SealedText, nullable=True),  # the RM's notes on the customer: sealed
    Column("sla_deadline", UTCDateTime, nullable=False),
    Column("stage_changed_at", UTCDateTime, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("probability IS NULL OR probability BETWEEN 0 AND 100", name="probability_range"),
    CheckConstraint("deal_value IS NULL OR deal_value >= 0", name="deal_value_non_negative"),
    CheckConstraint("outcome IN ('WON','LOST','PENDING')", name="outcome_enum"),
    Index("ix_sales_pipelines_rm_created", "rm_id", "created_at", "id"),
    Index("ix_sales_pipelines_rm_stage", "rm_id", "stage"),
    Index("ix_sales_pipelines_lead", "lead_id"),
    # A lead has any number of pipelines (it can rent, then buy) but one open at a time, whatever races happen.
    Index("uq_sales_pipelines_open_lead", "lead_id", unique=True,
          postgresql_where=text(OPEN), sqlite_where=text(OPEN)),
    Index("ix_sales_pipelines_created", "created_at", "id"),
    # Dashboards (issue 18): a team's or city's open pipelines per RM, counted from the index alone (migration 0033).
    Index("ix_sales_pipelines_rm_open", "rm_id", "stage", "stage_changed_at", postgresql_where=text(OPEN),
          postgresql_include=["expected_close_date"], sqlite_where=text(OPEN)),
    # Dashboards: a team's or city's pipelines moved since a period started (their last move is since then).
    Index("ix_sales_pipelines_rm_changed", "rm_id", "stage_changed_at",
          postgresql_include=["id", "stage", "created_at"]),
)

pipeline_stage_history = Table(
    "pipeline_stage_history", metadata,
    Column("seq", BigIntPK, primary_key=True, autoincrement=True),
    Column("pipeline_id", UUIDType, ForeignKey("sales_pipelines.id", ondelete="CASCADE"), nullable=False),
    Column("from_stage", String(32), nullable=True),
    Column("to_stage", String(32), nullable=False),
    Column("changed_by", UUIDType, nullable=True),
    Column("changed_at", UTCDateTime, nullable=False),
    Column("reason", Text, nullable=True),
    Index("ix_pipeline_stage_history_pipeline", "pipeline_id", "seq"),
    # Targets (issue 13) count the moves into a stage within a period.
    Index("ix_pipeline_stage_history_to_stage", "to_stage", "changed_at"),
)
