"""RMAllocation (PRD §3.2.3) with the decision trace, and the versioned rule configuration."""
from __future__ import annotations

from sqlalchemy import (Boolean, CheckConstraint, Column, ForeignKey, Index, Integer, SmallInteger, String,
                        Table, Text, text)

from sales.core.tables import metadata
from sales.core.types import JSONType, UTCDateTime, UUIDType

_LIVE = "status IN ('PENDING','ACCEPTED','ACTIVE','ESCALATED')"

rm_allocations = Table(
    "rm_allocations", metadata,
    Column("id", UUIDType, primary_key=True),
    Column("lead_id", UUIDType, nullable=False),
    Column("rm_id", UUIDType, ForeignKey("rms.id"), nullable=False),
    Column("team_id", UUIDType, nullable=True),
    Column("city", String(100), nullable=True),
    Column("pipeline_id", UUIDType, nullable=True),
    Column("allocation_type", String(16), nullable=False),
    Column("allocation_reason", Text, nullable=True),
    # Which PRD §3.2.3 type settled an engine decision: GEOGRAPHIC, SKILL_BASED or ROUND_ROBIN (issue 17).
    Column("decided_by", String(16), nullable=True),
    Column("priority", SmallInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("allocated_at", UTCDateTime, nullable=False),
    Column("accepted_at", UTCDateTime, nullable=True),
    Column("first_action_at", UTCDateTime, nullable=True),
    Column("sla_deadline", UTCDateTime, nullable=False),
    Column("is_reassignment", Boolean, nullable=False),
    Column("previous_rm_id", UUIDType, nullable=True),
    Column("reassignment_reason", Text, nullable=True),
    Column("over_capacity", Boolean, nullable=False, server_default=text("false")),
    Column("decision", JSONType, nullable=True),
    Column("ended_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("priority BETWEEN 1 AND 5", name="priority_range"),
    # One live allocation per lead, whatever races happen.
    Index("uq_rm_allocations_live_lead", "lead_id", unique=True,
          postgresql_where=text(_LIVE), sqlite_where=text(_LIVE)),
    Index("ix_rm_allocations_rm_status", "rm_id", "status", "priority", "sla_deadline"),
    Index("ix_rm_allocations_sla", "sla_deadline", postgresql_where=text("status IN ('PENDING','ACCEPTED')"),
          sqlite_where=text("status IN ('PENDING','ACCEPTED')")),
    Index("ix_rm_allocations_allocated", "allocated_at", "id"),
    Index("ix_rm_allocations_team", "team_id", "allocated_at"),
    Index("ix_rm_allocations_lead", "lead_id", "allocated_at"),
    # Targets (issue 13): an RM's leads allocated / first acted on within a period.
    Index("ix_rm_allocations_rm_allocated", "rm_id", "allocated_at"),
    Index("ix_rm_allocations_rm_first_action", "rm_id", "first_action_at"),
)

allocation_rule_sets = Table(
    "allocation_rule_sets", metadata,
    Column("id", UUIDType, primary_key=True),
    Column("city", String(100), nullable=False),  # "*" is the default for every city
    Column("version", Integer, nullable=False),
    Column("config", JSONType, nullable=False),
    Column("is_current", Boolean, nullable=False),
    Column("created_by", UUIDType, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index("uq_allocation_rule_sets_city_version", "city", "version", unique=True),
)

# Queue depth alerts (issue 17): whether an RM's ("rm:<id>") or a team's ("team:<id>") PENDING queue is over its
# threshold; the supervisor is told when `over` turns true (once per crossing), not on every allocation.
allocation_queue_alerts = Table(
    "allocation_queue_alerts", metadata,
    Column("key", String(80), primary_key=True),
    Column("over", Boolean, nullable=False),
    Column("depth", Integer, nullable=False),
    Column("threshold", Integer, nullable=False),
    Column("changed_at", UTCDateTime, nullable=False),
)
