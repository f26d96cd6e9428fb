"""Commission plans, the append-only commission ledger and payouts (PRD §3.2.5, §6.2 CMR-001..006; issue 13).

A ledger line is never edited in amount: corrections (tier adjustments, clawback reversals of paid lines,
upheld disputes) are new lines whose `corrects_id` names the line they correct. Only the status moves
(PENDING -> EARNED -> APPROVED -> PAID, CLAWED_BACK, DISPUTED and back), each move a compare-and-set on
`version`. `dedupe_key` makes every automatic line exactly-once (the same event or job run twice adds none).
"""
from __future__ import annotations

from sqlalchemy import (Boolean, CheckConstraint, Column, ForeignKey, Index, Integer, Numeric, String, Table, Text,
                        text)

from sales.core.tables import metadata
from sales.core.types import JSONType, Money, UTCDateTime, UUIDType

commission_plans = Table(
    "commission_plans", metadata,
    Column("id", UUIDType, primary_key=True),
    # A transaction type (PRD §3.2.5) or TEAM_BONUS (CMR-004); versions count up per key.
    Column("plan_key", String(32), nullable=False),
    Column("version", Integer, nullable=False),
    Column("commission_type", String(16), nullable=False),  # FIXED, PERCENTAGE, TIERED, BONUS
    Column("amount", Money, nullable=True),                 # FIXED and BONUS
    Column("rate", Numeric(8, 4), nullable=True),            # PERCENTAGE, in percent
    Column("tiers", JSONType, nullable=True),                # TIERED: [{min_achievement, rate}] ascending
    Column("exception_above", Money, nullable=False),        # lines above need a second approver
    Column("effective_from", UTCDateTime, nullable=False),
    Column("notes", String(1000), nullable=True),
    Column("created_by", UUIDType, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("commission_type IN ('FIXED','PERCENTAGE','TIERED','BONUS')", name="commission_type_enum"),
    Index("uq_commission_plans_key_version", "plan_key", "version", unique=True),
)

commissions = Table(
    "commissions", metadata,
    Column("id", UUIDType, primary_key=True),
    Column("rm_id", UUIDType, ForeignKey("rms.id"), nullable=False),
    Column("transaction_id", UUIDType, nullable=False),
    Column("transaction_type", String(32), nullable=False),
    Column("commission_type", String(16), nullable=False),
    # SALE, TIER_ADJUSTMENT (CMR-003), CLAWBACK_REVERSAL and PARTIAL_CLAWBACK (CMR-002), TEAM_BONUS (CMR-004),
    # DISPUTE_ADJUSTMENT
    Column("kind", String(24), nullable=False),
    Column("base_amount", Money, nullable=False),
    Column("commission_rate", Numeric(8, 4), nullable=False),
    Column("commission_amount", Money, nullable=False),
    Column("adjustments", Money, nullable=True),             # CMR-005 cap reduction (negative) when capped
    Column("final_amount", Money, nullable=False),
    Column("status", String(16), nullable=False),
    Column("period", String(7), nullable=False),             # YYYY-MM the line counts in (cap, tier, payout)
    Column("sale_at", UTCDateTime, nullable=False),
    Column("earned_at", UTCDateTime, nullable=False),        # when it is (or was) earned: sale + 30 days (CMR-001)
    Column("plan_id", UUIDType, ForeignKey("commission_plans.id"), nullable=True),
    Column("plan_version", Integer, nullable=True),
    Column("rule", String(200), nullable=False),
    Column("explanation", JSONType, nullable=False),         # {text, inputs}: every figure used
    Column("corrects_id", UUIDType, ForeignKey("commissions.id"), nullable=True),
    Column("reason", String(1000), nullable=True),
    Column("customer_id", UUIDType, nullable=True),
    Column("exception", Boolean, nullable=False, server_default=text("false")),
    Column("exception_reasons", JSONType, nullable=False),
    Column("approved_by", UUIDType, nullable=True),
    Column("approved_at", UTCDateTime, nullable=True),
    Column("second_approved_by", UUIDType, nullable=True),
    Column("second_approved_at", UTCDateTime, nullable=True),
    Column("paid_at", UTCDateTime, nullable=True),
    Column("payout_reference", String(128), nullable=True),
    Column("payout_period", String(7), nullable=True),
    Column("clawback_reason", Text, nullable=True),
    Column("disputed_at", UTCDateTime, nullable=True),
    Column("dispute_reason", String(1000), nullable=True),
    Column("status_before_dispute", String(16), nullable=True),
    Column("dispute_outcome", String(16), nullable=True),
    Column("dispute_resolution", String(1000), nullable=True),
    Column("dispute_resolved_by", UUIDType, nullable=True),
    Column("dispute_resolved_at", UTCDateTime, nullable=True),
    Column("dedupe_key", String(200), nullable=False),
    Column("version", Integer, nullable=False, server_default=text("1")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("status IN ('PENDING','EARNED','APPROVED','PAID','CLAWED_BACK','DISPUTED')", name="status_enum"),
    CheckConstraint("kind IN ('SALE','TIER_ADJUSTMENT','CLAWBACK_REVERSAL','TEAM_BONUS','DISPUTE_ADJUSTMENT',"
                    "'PARTIAL_CLAWBACK')", name="kind_enum"),
    Index("ix_commissions_rm_period", "rm_id", "period", "created_at"),
    Index("ix_commissions_transaction", "transaction_id"),
    Index("ix_commissions_corrects", "corrects_id"),
    Index("ix_commissions_status_period", "status", "period"),
    Index("ix_commissions_created", "created_at", "id"),
    Index("uq_commissions_dedupe", "dedupe_key", unique=True),
)

commission_payouts = Table(
    "commission_payouts", metadata,
    Column("id", UUIDType, primary_key=True),
    Column("period", String(7), nullable=False),
    Column("reference", String(128), nullable=False),
    Column("lines", Integer, nullable=False),
    Column("total", Money, nullable=False),
    Column("created_by", UUIDType, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("uq_commission_payouts_reference", "reference", unique=True),
)
