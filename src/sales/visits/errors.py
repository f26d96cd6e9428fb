from sales.core.errors import Conflict, NotFound, SalesError


class VisitPlanNotFound(NotFound):
    code, title = "visit_plan_not_found", "Visit plan not found"


class VisitStopNotFound(NotFound):
    code, title = "visit_stop_not_found", "Visit stop not found"


class Infeasible(SalesError):
    """Some stops' windows cannot be met: `infeasible_stops` names them, `best_plan` plans the others."""

    status_code, code, title = 422, "infeasible", "The visits cannot all be scheduled"


class VisitPlanClosed(Conflict):
    code, title = "visit_plan_closed", "Visit plan is completed"


class VisitPlanChanged(Conflict):
    """A concurrent change (another replan, a decline) moved the plan on first."""

    code, title = "visit_plan_changed", "Visit plan changed meanwhile"


class StopNotVisitable(Conflict):
    code, title = "stop_not_visitable", "The stop was declined or unscheduled"


class TravelTimesUnavailable(SalesError):
    """The travel-time provider failed or answered something unusable (OWASP API10): nothing is planned."""

    status_code, code, title = 502, "travel_times_unavailable", "Travel times unavailable"
