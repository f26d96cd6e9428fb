from enum import StrEnum


class OrderStatus(StrEnum):
    ACTIVE = "ACTIVE"
    EXPIRED = "EXPIRED"
    REFUNDED = "REFUNDED"
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"
    CANCELLED = "CANCELLED"


# Statuses a backfill (PUT /orders/{id}) may ask for; refund statuses follow from refunds only.
class BackfillStatus(StrEnum):
    ACTIVE = "ACTIVE"
    EXPIRED = "EXPIRED"
    CANCELLED = "CANCELLED"


class TransactionType(StrEnum):
    """PRD §3.2.5 transaction types."""

    SUBSCRIPTION_NEW = "SUBSCRIPTION_NEW"
    SUBSCRIPTION_RENEWAL = "SUBSCRIPTION_RENEWAL"
    SUBSCRIPTION_UPGRADE = "SUBSCRIPTION_UPGRADE"
    SERVICE_BOOKING = "SERVICE_BOOKING"
    AGREEMENT_EXECUTION = "AGREEMENT_EXECUTION"
    PROPERTY_MANAGEMENT = "PROPERTY_MANAGEMENT"
