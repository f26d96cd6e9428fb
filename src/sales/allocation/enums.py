from enum import StrEnum


class AllocationType(StrEnum):
    AUTO = "AUTO"
    MANUAL = "MANUAL"
    ROUND_ROBIN = "ROUND_ROBIN"
    SKILL_BASED = "SKILL_BASED"
    GEOGRAPHIC = "GEOGRAPHIC"
    OVERFLOW = "OVERFLOW"


class DecidedBy(StrEnum):
    """Which PRD §3.2.3 allocation type settled an engine decision (issue 17)."""
    GEOGRAPHIC = "GEOGRAPHIC"      # one RM left at the geographic level reached (locality, zone or city)
    SKILL_BASED = "SKILL_BASED"    # one RM left after the skill filter (LAR-003) removed others at that level
    ROUND_ROBIN = "ROUND_ROBIN"    # the deficit order (LAR-004/005) chose among several eligible RMs


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
