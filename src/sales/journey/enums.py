from enum import StrEnum


class DealType(StrEnum):
    RENT = "RENT"
    SALE = "SALE"


class Criterion(StrEnum):
    """What a requirement can weigh; each is a must-have or a nice-to-have of weight 1..5."""

    budget = "budget"
    location = "location"
    bhk = "bhk"
    area = "area"
    property_type = "property_type"
    furnishing = "furnishing"
    amenities = "amenities"
    move_in = "move_in"


class CriterionStatus(StrEnum):
    MET = "MET"
    PARTIAL = "PARTIAL"
    MISSED = "MISSED"


class ShareChannel(StrEnum):
    WHATSAPP = "WHATSAPP"
    EMAIL = "EMAIL"
    IN_APP = "IN_APP"


class Reaction(StrEnum):
    LIKE = "LIKE"
    DISLIKE = "DISLIKE"
    WANT_TO_VISIT = "WANT_TO_VISIT"
