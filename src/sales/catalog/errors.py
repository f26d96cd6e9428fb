from uuid import UUID

from sales.core.errors import Conflict, NotFound, SalesError


class PlanNotFound(NotFound):
    code, title = "plan_not_found", "Plan not found"


class PlanExists(Conflict):
    code, title = "plan_exists", "Plan already exists"


class PlanCodeTaken(Conflict):
    code, title = "plan_code_taken", "Plan code already used"


class UnknownPlan(SalesError):
    """A payload names a plan the catalogue does not hold (yet). 422 on the API; a consumed event retries (the
    plan may be backfilled later), so this is deliberately not an InvalidInput."""

    status_code, code, title = 422, "unknown_plan", "Unknown plan"

    def __init__(self, plan_id: UUID, *, loc: tuple[str | int, ...] = ("plan_id",)) -> None:
        super().__init__(f"unknown plan {plan_id}",
                         extra={"errors": [{"loc": ["body", *loc], "msg": f"unknown plan {plan_id}"}]})
