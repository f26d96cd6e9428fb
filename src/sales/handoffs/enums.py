from enum import StrEnum


class Direction(StrEnum):
    TO_ASSISTED = "TO_ASSISTED"
    TO_SELF_SERVICE = "TO_SELF_SERVICE"


class HandoffOutcome(StrEnum):
    ALLOCATED = "ALLOCATED"  # the new lead went to an RM (its pipeline opened)
    QUEUED = "QUEUED"        # no RM could take it now: it waits in the overflow queue (LAR-007)
    CLOSED = "CLOSED"        # the RM's open pipeline(s) closed, handed back to self-service
