from enum import StrEnum


class DealType(StrEnum):
    RENT = "RENT"
    SALE = "SALE"


class ListingStatus(StrEnum):
    AVAILABLE = "AVAILABLE"
    LET_OUT = "LET_OUT"
    SOLD = "SOLD"
    INACTIVE = "INACTIVE"  # removed from Inventory (the row is kept) or deactivated there


class Furnishing(StrEnum):
    FURNISHED = "FURNISHED"
    SEMI_FURNISHED = "SEMI_FURNISHED"
    UNFURNISHED = "UNFURNISHED"
