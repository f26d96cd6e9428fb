"""Commission (PRD §3.2.5)."""
from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Numeric, String, Table, Text

from sales.core.tables import metadata
from sales.core.types import Money, UTCDateTime, UUIDType

commissions = Table(
    "commissions", metadata,
    Column("id", UUIDType, primary_key=True),
    Column("rm_id", UUIDType, ForeignKey("rms.id"), nullable=False),
    Column("transaction_id", UUIDType, nullable=False),
    Column("transaction_type", String(32), nullable=False),
    Column("commission_type", String(16), nullable=False),
    Column("base_amount", Money, nullable=False),
    Column("commission_rate", Numeric(8, 4), nullable=False),
    Column("commission_amount", Money, nullable=False),
    Column("adjustments", Money, nullable=True),
    Column("final_amount", Money, nullable=False),
    Column("status", String(16), nullable=False),
    Column("earned_at", UTCDateTime, nullable=False),
    Column("approved_by", UUIDType, nullable=True),
    Column("approved_at", UTCDateTime, nullable=True),
    Column("paid_at", UTCDateTime, nullable=True),
    Column("payout_reference", String(128), nullable=True),
    Column("clawback_reason", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_commissions_rm", "rm_id", "earned_at"),
    Index("uq_commissions_transaction_rm", "transaction_id", "rm_id", unique=True),
)
