from enum import StrEnum


class DealType(StrEnum):
    RENT = "RENT"
    SALE = "SALE"


class DocumentKind(StrEnum):
    AGREEMENT = "AGREEMENT"
    ID_PROOF = "ID_PROOF"
    PAYMENT_PROOF = "PAYMENT_PROOF"
    TITLE_DEED = "TITLE_DEED"
    OTHER = "OTHER"
