from sales.core.errors import Conflict, NotFound


class TeamNotFound(NotFound):
    code, title = "team_not_found", "Team not found"


class RMNotFound(NotFound):
    code, title = "rm_not_found", "RM not found"


class RMExists(Conflict):
    code, title = "rm_exists", "RM already exists"


class TeamExists(Conflict):
    code, title = "team_exists", "Team already exists"


class CapacityBelowLoad(Conflict):
    code, title = "capacity_below_active_leads", "Capacity below the RM's active leads"


class LeaveOverlaps(Conflict):
    code, title = "leave_overlaps", "Leave overlaps an existing leave"
