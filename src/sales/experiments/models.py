"""Upsell experiments (issue 16; PRD §2.2.1, US-SALE-003)."""
from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, Column, Float, Index, Integer, String, Table, text

from sales.core.tables import metadata
from sales.core.types import JSONType, UTCDateTime, UUIDType

# One experiment drives a trigger at a time: a RUNNING one, or a winner being rolled out.
ACTIVE = "status = 'RUNNING' OR rollout_status = 'ROLLING_OUT'"

upsell_experiments = Table(
    "upsell_experiments", metadata,
    Column("id", UUIDType, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("hypothesis", String(2000), nullable=True),
    Column("trigger", String(128), nullable=False),  # the upsells' trigger_event it applies to
    Column("seed", String(128), nullable=False),
    Column("variants", JSONType, nullable=False),  # [{key, weight, control, message, channel, delay_minutes}]
    Column("coverage", Float, nullable=False),
    Column("primary_metric", String(32), nullable=False),
    Column("guardrails", JSONType, nullable=False),
    Column("baseline_rate", Float, nullable=False),
    Column("minimum_detectable_effect", Float, nullable=False),
    Column("minimum_sample_per_variant", Integer, nullable=False),
    Column("rollout_stage_hours", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("winner", String(64), nullable=True),
    Column("conclusion_reason", String(1000), nullable=True),
    Column("conclusion_overridden", Boolean, nullable=True),
    Column("rollout_status", String(16), nullable=True),
    Column("rollout_percent", Integer, nullable=False, server_default=text("0")),
    Column("rollout_stage_started_at", UTCDateTime, nullable=True),
    Column("version", Integer, nullable=False, server_default=text("1")),
    Column("created_by", UUIDType, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime, nullable=True),
    Column("ended_at", UTCDateTime, nullable=True),  # STOPPED or CONCLUDED
    CheckConstraint("status IN ('DRAFT','RUNNING','STOPPED','CONCLUDED')", name="status_enum"),
    CheckConstraint("rollout_status IS NULL OR rollout_status IN ('ROLLING_OUT','COMPLETED','ROLLED_BACK')",
                    name="rollout_status_enum"),
    CheckConstraint("coverage >= 0 AND coverage <= 1", name="coverage_share"),
    CheckConstraint("rollout_percent >= 0 AND rollout_percent <= 100", name="rollout_percent_share"),
    Index("ix_upsell_experiments_created", "created_at", "id"),
    Index("uq_upsell_experiments_active_trigger", "trigger", unique=True, postgresql_where=text(ACTIVE),
          sqlite_where=text(ACTIVE)),
)
