"""Refund requests (issue 12; PRD §6.4, §7.2 Refund APIs)."""
from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, Column, ForeignKey, Index, Integer, String, Table, text

from sales.core.sealed import SealedText
from sales.core.tables import metadata
from sales.core.types import BigIntPK, JSONType, Money, UTCDateTime, UUIDType

# Statuses in which a request still holds its order: a second one on the same order is refused (409), so
# concurrent requests can never together promise more than was paid.
OPEN = ("status IN ('REQUESTED','AUTO_APPROVED','PENDING_APPROVAL','PENDING_MANAGER_APPROVAL',"
        "'UNDER_INVESTIGATION','APPROVED','PROCESSING')")

refunds = Table(
    "refunds", metadata,
    Column("id", UUIDType, primary_key=True),
    Column("order_id", UUIDType, ForeignKey("orders.order_id"), nullable=False),
    Column("user_id", UUIDType, nullable=False),
    Column("type", String(16), nullable=False),
    Column("status", String(32), nullable=False),
    Column("flagged", Boolean, nullable=False, server_default=text("false")),  # RFR-005 fraud review
    Column("reason", SealedText, nullable=False),  # the customer's words: sealed
    Column("requested_amount", Money, nullable=False),  # asked for (the refundable amount when not named)
    Column("refundable_amount", Money, nullable=False),  # what the rules allowed at the request
    Column("amount", Money, nullable=True),  # approved amount (sent to Billing)
    Column("approval", String(16), nullable=False),
    Column("rules", JSONType, nullable=False),  # each rule's outcome and figures at the request
    Column("requested_by", UUIDType, nullable=False),
    Column("requested_at", UTCDateTime, nullable=False),
    Column("decided_at", UTCDateTime, nullable=True),
    Column("decided_by", UUIDType, nullable=True),  # null: decided by the rules (auto-approval, rejection)
    Column("decision_reason", SealedText, nullable=True),  # may quote the customer: sealed
    # A manager granted an ineligible (REJECTED) request with a reason (issue 12 policy exception).
    Column("policy_exception", Boolean, nullable=False, server_default=text("false")),
    Column("resolved_at", UTCDateTime, nullable=True),  # REJECTED, COMPLETED or FAILED: when (the SLA's end)
    Column("expected_resolution_by", UTCDateTime, nullable=False),
    Column("version", Integer, nullable=False, server_default=text("1")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("type IN ('REFUND','GUARANTEE_CLAIM')", name="type_enum"),
    CheckConstraint("status IN ('REQUESTED','AUTO_APPROVED','PENDING_APPROVAL','PENDING_MANAGER_APPROVAL',"
                    "'UNDER_INVESTIGATION','APPROVED','PROCESSING','COMPLETED','FAILED','REJECTED')",
                    name="status_enum"),
    CheckConstraint("approval IN ('AUTO','SUPPORT_AGENT','MANAGER')", name="approval_enum"),
    CheckConstraint("requested_amount >= 0 AND refundable_amount >= 0 AND (amount IS NULL OR amount > 0)",
                    name="amounts_valid"),
    Index("ix_refunds_user_requested", "user_id", "requested_at", "id"),
    Index("ix_refunds_status_requested", "status", "requested_at", "id"),
    Index("ix_refunds_order", "order_id", "requested_at"),
    Index("uq_refunds_open_order", "order_id", unique=True, postgresql_where=text(OPEN), sqlite_where=text(OPEN)),
)

# The refund's timeline (RBI-style: requested, decision, sent to Billing, money returned), one row per step,
# each with its time and actor (actor_id null: the rules or Billing, named by actor_role SYSTEM / BILLING).
refund_events = Table(
    "refund_events", metadata,
    Column("seq", BigIntPK, primary_key=True, autoincrement=True),
    Column("refund_id", UUIDType, ForeignKey("refunds.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("status", String(32), nullable=False),  # the refund's status after this step
    Column("at", UTCDateTime, nullable=False),
    Column("actor_id", UUIDType, nullable=True),
    Column("actor_role", String(32), nullable=False),
    Column("note", SealedText, nullable=True),  # copies reasons and evidence notes: sealed
    Column("data", JSONType, nullable=True),
    Index("ix_refund_events_refund", "refund_id", "seq"),
)

# A plan's guarantee (issue 12: "Prime: full refund if fewer than 3 owners respond within 10 days"): a
# GUARANTEE_CLAIM on an order of the plan follows these terms instead of RFR-001/002/006.
plan_guarantees = Table(
    "plan_guarantees", metadata,
    Column("plan_id", UUIDType, ForeignKey("plans.id", ondelete="CASCADE"), primary_key=True),
    Column("description", String(500), nullable=False),
    Column("window_days", Integer, nullable=False),
    Column("condition", JSONType, nullable=False),  # {"metric": "owner_responses", "lt": 3, "within_days": 10}
    Column("refund_percentage", Integer, nullable=False),
    Column("evidence_required", JSONType, nullable=False),  # the kinds of evidence a claim needs
    Column("updated_by", UUIDType, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("window_days > 0", name="window_positive"),
    CheckConstraint("refund_percentage > 0 AND refund_percentage <= 100", name="percentage_valid"),
)

# Evidence attached to a claim: the file is on local disk (content-addressed by its sha256).
refund_evidence = Table(
    "refund_evidence", metadata,
    Column("seq", BigIntPK, primary_key=True, autoincrement=True),  # upload order
    Column("id", UUIDType, nullable=False, unique=True),
    Column("refund_id", UUIDType, ForeignKey("refunds.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(64), nullable=True),  # one of the guarantee's evidence_required, when named
    Column("note", SealedText, nullable=True),
    Column("filename", SealedText, nullable=False),  # the customer's own file name: sealed
    Column("content_type", String(32), nullable=False),
    Column("size_bytes", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("storage_path", String(500), nullable=False),
    Column("uploaded_by", UUIDType, nullable=False),
    Column("uploaded_at", UTCDateTime, nullable=False),
    CheckConstraint("content_type IN ('image/jpeg','image/png','application/pdf')", name="content_type_enum"),
    Index("ix_refund_evidence_refund", "refund_id", "seq"),
)
