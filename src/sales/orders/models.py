"""Orders and the refunds received against them (read model of Billing, issue 10 §2; PRD §5.1, §5.2)."""
from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Integer, String, Table, text

from sales.core.tables import metadata
from sales.core.types import Money, UTCDateTime, UUIDType

orders = Table(
    "orders", metadata,
    Column("order_id", UUIDType, primary_key=True),
    Column("payment_id", UUIDType, nullable=True),
    Column("user_id", UUIDType, nullable=False),
    Column("user_type", String(16), nullable=False),
    Column("plan_id", UUIDType, ForeignKey("plans.id"), nullable=False),
    Column("amount", Money, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("paid_at", UTCDateTime, nullable=False),
    Column("starts_at", UTCDateTime, nullable=False),
    Column("ends_at", UTCDateTime, nullable=False),
    Column("status", String(24), nullable=False),
    Column("refunded_amount", Money, nullable=False, server_default=text("0")),
    Column("transaction_type", String(32), nullable=False),
    Column("rm_id", UUIDType, nullable=True),  # the RM who sold it (no FK: Billing may name an RM first)
    Column("pipeline_id", UUIDType, nullable=True),
    Column("upsell_id", UUIDType, nullable=True),
    Column("expired_at", UTCDateTime, nullable=True),
    # Bumped by every change: writes compare-and-set on it, so no change is lost on either database.
    Column("version", Integer, nullable=False, server_default=text("1")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("status IN ('ACTIVE','EXPIRED','REFUNDED','PARTIALLY_REFUNDED','CANCELLED')",
                    name="status_enum"),
    CheckConstraint("user_type IN ('TENANT','OWNER','BUYER')", name="user_type_enum"),
    CheckConstraint("transaction_type IN ('SUBSCRIPTION_NEW','SUBSCRIPTION_RENEWAL','SUBSCRIPTION_UPGRADE',"
                    "'SERVICE_BOOKING','AGREEMENT_EXECUTION','PROPERTY_MANAGEMENT')", name="transaction_type_enum"),
    CheckConstraint("amount >= 0", name="amount_non_negative"),
    CheckConstraint("refunded_amount >= 0 AND refunded_amount <= amount", name="refund_within_amount"),
    CheckConstraint("ends_at >= starts_at", name="period_ordered"),
    Index("ix_orders_user_paid", "user_id", "paid_at", "order_id"),
    Index("ix_orders_rm_paid", "rm_id", "paid_at"),
    Index("ix_orders_paid", "paid_at", "order_id"),
    # Targets (issue 13): a won deal that an order names is counted once, as the order.
    Index("ix_orders_pipeline", "pipeline_id", postgresql_where=text("pipeline_id IS NOT NULL"),
          sqlite_where=text("pipeline_id IS NOT NULL")),
)

# One row per refund Billing completed: a refund id is applied to its order once, however often it arrives.
order_refunds = Table(
    "order_refunds", metadata,
    Column("refund_id", UUIDType, primary_key=True),
    Column("order_id", UUIDType, ForeignKey("orders.order_id", ondelete="CASCADE"), nullable=False),
    Column("amount", Money, nullable=False),
    Column("completed_at", UTCDateTime, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    CheckConstraint("amount > 0", name="amount_positive"),
    Index("ix_order_refunds_order", "order_id", "completed_at"),
)
