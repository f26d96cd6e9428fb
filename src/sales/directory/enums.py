from enum import StrEnum


class PropertyType(StrEnum):
    RESIDENTIAL = "RESIDENTIAL"
    COMMERCIAL = "COMMERCIAL"


class Segment(StrEnum):
    TENANT = "TENANT"
    OWNER = "OWNER"
    BUYER = "BUYER"


class RMStatus(StrEnum):
    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"


class Availability(StrEnum):
    ONLINE = "ONLINE"
    OFFLINE = "OFFLINE"
