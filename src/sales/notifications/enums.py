from enum import StrEnum


class Channel(StrEnum):
    """Delivery channels of the Communications domain (PRD §3.2.2 names; the upsell presentation forms
    IN_APP_BANNER / IN_APP_MODAL are both delivered IN_APP)."""

    IN_APP = "IN_APP"
    PUSH_NOTIFICATION = "PUSH_NOTIFICATION"
    EMAIL = "EMAIL"
    SMS = "SMS"
    WHATSAPP = "WHATSAPP"


class RecipientType(StrEnum):
    RM = "RM"
    CUSTOMER = "CUSTOMER"
    SUPERVISOR = "SUPERVISOR"


class NotificationStatus(StrEnum):
    REQUESTED = "REQUESTED"    # sales.notification.requested written to the outbox
    SUPPRESSED = "SUPPRESSED"  # nothing sent; `reason` says why (opt-out, no allowed channel)
    DUPLICATE = "DUPLICATE"    # (outcome only) the dedupe key was used before: nothing new
