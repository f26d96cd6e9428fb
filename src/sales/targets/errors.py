from sales.core.errors import Conflict, NotFound


class TargetNotFound(NotFound):
    code, title = "target_not_found", "Target not found"


class ScopeNotFound(NotFound):
    """The RM, team or city asked about does not exist or is outside the caller's scope."""

    code, title = "scope_not_found", "Not found"


class TargetExists(Conflict):
    """The assignee already has a live target for this metric, period type and period start."""

    code, title = "target_exists", "Target already set for this period"


class TargetClosed(Conflict):
    """A CANCELLED target, or one targets-close settled (ACHIEVED / MISSED after its period), takes no change."""

    code, title = "target_closed", "Target closed"
