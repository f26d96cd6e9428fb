"""Upsell (PRD §3.2.2) and the gating decisions of the upsell engine (issue 11)."""
from __future__ import annotations

from sqlalchemy import Column, Index, Integer, PrimaryKeyConstraint, String, Table

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
    # issue 11 (migration 0016): UPR-001 reads dismissed_at; expiry reads expires_at.
    Column("clicked_at", UTCDateTime, nullable=True),
    Column("dismissed_at", UTCDateTime, nullable=True),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("updated_at", UTCDateTime, nullable=True),
    # POST /upsells/{id}/checkout: one payment request per upsell (idempotent), amount = the plan's price then.
    Column("payment_request_id", UUIDType, nullable=True),
    Column("checkout_amount", Money, nullable=True),
    Column("checkout_at", UTCDateTime, nullable=True),
    # issue 16 (migration 0022): the experiment that chose the variant, and the variant's message and timing.
    Column("experiment_id", UUIDType, nullable=True),
    Column("message", String(1000), nullable=True),
    Column("present_after", UTCDateTime, nullable=True),
    Index("ix_upsells_user", "user_id", "created_at"),
    Index("ix_upsells_created", "created_at", "id"),
    Index("ix_upsells_status_expires", "status", "expires_at"),
    Index("ix_upsells_experiment", "experiment_id", "experiment_variant"),
)

# Every gating decision, created or suppressed, with each rule's result and figures.
upsell_decisions = Table(
    "upsell_decisions", metadata,
    Column("id", UUIDType, primary_key=True),
    Column("user_id", UUIDType, nullable=False),
    Column("user_type", String(16), nullable=False),
    Column("trigger_event", String(128), nullable=False),
    Column("target_plan_id", UUIDType, nullable=True),
    Column("requested_channel", String(32), nullable=False),
    Column("channel", String(32), nullable=True),
    Column("outcome", String(16), nullable=False),  # CREATED | SUPPRESSED
    Column("rules", JSONType, nullable=False),  # [{rule, passed, figures}]
    Column("upsell_id", UUIDType, nullable=True),
    Column("source", String(160), nullable=False),  # "api:<role>" or "event:<id>"
    Column("decided_at", UTCDateTime, nullable=False),
    Index("ix_upsell_decisions_user", "user_id", "decided_at", "id"),
)

# One row per user, upserted at the start of every gating decision: on PostgreSQL the upsert's row lock
# serializes two decisions for the same user until commit (SQLite serializes every write transaction).
upsell_user_gates = Table(
    "upsell_user_gates", metadata,
    Column("user_id", UUIDType, primary_key=True),
    Column("touched_at", UTCDateTime, nullable=False),
)

# A trigger fires at most once per user and cause (issue 11): the cause is kept when it created an upsell.
upsell_trigger_fires = Table(
    "upsell_trigger_fires", metadata,
    Column("user_id", UUIDType, nullable=False),
    Column("cause", String(200), nullable=False),
    Column("upsell_id", UUIDType, nullable=False),
    Column("fired_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("user_id", "cause"),
)

# GET/PUT /upsells/triggers: every version of the trigger configuration is kept (the highest is in force).
upsell_trigger_configs = Table(
    "upsell_trigger_configs", metadata,
    Column("version", Integer, primary_key=True),
    Column("config", JSONType, nullable=False),
    Column("created_by", UUIDType, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
)
