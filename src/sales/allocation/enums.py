from enum import StrEnum


class AllocationType(StrEnum):
    AUTO = "AUTO"
    MANUAL = "MANUAL"
    ROUND_ROBIN = "ROUND_ROBIN"
    SKILL_BASED = "SKILL_BASED"
    GEOGRAPHIC = "GEOGRAPHIC"
    OVERFLOW = "OVERFLOW"


class AllocationStatus(StrEnum):
    PENDING = "PENDING"
    ACCEPTED = "ACCEPTED"
    ACTIVE = "ACTIVE"
    ESCALATED = "ESCALATED"
    REASSIGNED = "REASSIGNED"
    COMPLETED = "COMPLETED"
    EXPIRED = "EXPIRED"


LIVE_STATUSES = (AllocationStatus.PENDING, AllocationStatus.ACCEPTED, AllocationStatus.ACTIVE,
                 AllocationStatus.ESCALATED)
