from enum import StrEnum


class CommissionType(StrEnum):
    """PRD §3.2.5 commission (structure) types."""

    FIXED = "FIXED"
    PERCENTAGE = "PERCENTAGE"
    TIERED = "TIERED"
    BONUS = "BONUS"


class CommissionStatus(StrEnum):
    PENDING = "PENDING"
    EARNED = "EARNED"
    APPROVED = "APPROVED"
    PAID = "PAID"
    CLAWED_BACK = "CLAWED_BACK"
    DISPUTED = "DISPUTED"


class LineKind(StrEnum):
    """What made a ledger line: a sale, or a correction of earlier lines (which it references)."""

    SALE = "SALE"
    TIER_ADJUSTMENT = "TIER_ADJUSTMENT"          # CMR-003
    CLAWBACK_REVERSAL = "CLAWBACK_REVERSAL"      # CMR-002, a paid line reversed
    PARTIAL_CLAWBACK = "PARTIAL_CLAWBACK"        # CMR-002, the refunded share of a line (a partial refund)
    TEAM_BONUS = "TEAM_BONUS"                    # CMR-004
    DISPUTE_ADJUSTMENT = "DISPUTE_ADJUSTMENT"    # CMR-006, an upheld dispute


class PlanKey(StrEnum):
    """What a plan prices: a PRD §3.2.5 transaction type, or the team bonus (CMR-004)."""

    SUBSCRIPTION_NEW = "SUBSCRIPTION_NEW"
    SUBSCRIPTION_RENEWAL = "SUBSCRIPTION_RENEWAL"
    SUBSCRIPTION_UPGRADE = "SUBSCRIPTION_UPGRADE"
    SERVICE_BOOKING = "SERVICE_BOOKING"
    AGREEMENT_EXECUTION = "AGREEMENT_EXECUTION"
    PROPERTY_MANAGEMENT = "PROPERTY_MANAGEMENT"
    TEAM_BONUS = "TEAM_BONUS"


class DisputeOutcome(StrEnum):
    UPHELD = "UPHELD"
    REJECTED = "REJECTED"


# Lines that have not been paid and may still be clawed back whole (CMR-002).
UNPAID = (CommissionStatus.PENDING, CommissionStatus.EARNED, CommissionStatus.APPROVED, CommissionStatus.DISPUTED)
# Lines the RM may dispute (CMR-006): calculated and not settled.
DISPUTABLE = (CommissionStatus.PENDING, CommissionStatus.EARNED, CommissionStatus.APPROVED)
