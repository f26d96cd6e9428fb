from enum import StrEnum


class Stage(StrEnum):
    NEW = "NEW"
    CONTACTED = "CONTACTED"
    REQUIREMENTS_CAPTURED = "REQUIREMENTS_CAPTURED"
    SHORTLIST_SENT = "SHORTLIST_SENT"
    VISIT_SCHEDULED = "VISIT_SCHEDULED"
    VISIT_COMPLETED = "VISIT_COMPLETED"
    NEGOTIATION = "NEGOTIATION"
    AGREEMENT_PENDING = "AGREEMENT_PENDING"
    CLOSED_WON = "CLOSED_WON"
    CLOSED_LOST = "CLOSED_LOST"

    @property
    def order(self) -> int:
        return _ORDER[self]

    @property
    def is_closed(self) -> bool:
        return self in (Stage.CLOSED_WON, Stage.CLOSED_LOST)


_ORDER = {stage: i for i, stage in enumerate(Stage)}
_ORDER[Stage.CLOSED_LOST] = _ORDER[Stage.CLOSED_WON]


class Outcome(StrEnum):
    WON = "WON"
    LOST = "LOST"
    PENDING = "PENDING"


class Source(StrEnum):
    INBOUND_CALL = "INBOUND_CALL"
    OUTBOUND_CALL = "OUTBOUND_CALL"
    WEBSITE = "WEBSITE"
    MOBILE_APP = "MOBILE_APP"
    WHATSAPP = "WHATSAPP"
    EMAIL = "EMAIL"
    REFERRAL = "REFERRAL"
    WALK_IN = "WALK_IN"
    PARTNER = "PARTNER"
    CAMPAIGN = "CAMPAIGN"
    SOCIAL_MEDIA = "SOCIAL_MEDIA"
    UPSELL = "UPSELL"
    LEAD_ALLOCATION = "LEAD_ALLOCATION"
    OTHER = "OTHER"
