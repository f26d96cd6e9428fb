from enum import StrEnum


class TaskType(StrEnum):
    CALL = "CALL"
    VISIT_FOLLOW_UP = "VISIT_FOLLOW_UP"
    DOCUMENTS = "DOCUMENTS"
    CUSTOM = "CUSTOM"


class TaskStatus(StrEnum):
    OPEN = "OPEN"
    DONE = "DONE"
    CANCELLED = "CANCELLED"


class ClosingStatus(StrEnum):
    """What PATCH /tasks/{id} may set."""

    DONE = "DONE"
    CANCELLED = "CANCELLED"


class TaskSource(StrEnum):
    MANUAL = "MANUAL"          # POST /tasks
    VISIT_PLAN = "VISIT_PLAN"  # after the visits of a plan
    STAGE_AGE = "STAGE_AGE"    # a pipeline sat in one stage too long (job stale-stage-tasks)
    SHORTLIST_FEEDBACK = "SHORTLIST_FEEDBACK"  # the customer reacted to a shared shortlist
