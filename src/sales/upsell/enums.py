from enum import StrEnum


class UpsellStatus(StrEnum):
    """PRD §3.2.2 Upsell Statuses."""

    PENDING = "PENDING"
    PRESENTED = "PRESENTED"
    DISMISSED = "DISMISSED"
    CLICKED = "CLICKED"
    CONVERTED = "CONVERTED"
    EXPIRED = "EXPIRED"


class UpsellChannel(StrEnum):
    """PRD §3.2.2 Channels."""

    IN_APP_BANNER = "IN_APP_BANNER"
    IN_APP_MODAL = "IN_APP_MODAL"
    PUSH_NOTIFICATION = "PUSH_NOTIFICATION"
    EMAIL = "EMAIL"
    SMS = "SMS"
    WHATSAPP = "WHATSAPP"
    RM_CALL = "RM_CALL"


class UpsellResponse(StrEnum):
    """What a client may record with PATCH /upsells/{id}/response."""

    PRESENTED = "PRESENTED"
    CLICKED = "CLICKED"
    DISMISSED = "DISMISSED"


class DecisionOutcome(StrEnum):
    CREATED = "CREATED"
    SUPPRESSED = "SUPPRESSED"
