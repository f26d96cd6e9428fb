from sales.core.errors import NotFound


class DashboardScopeNotFound(NotFound):
    """The RM, team or city asked about does not exist or is outside the caller's scope."""

    code, title = "dashboard_scope_not_found", "Not found"
