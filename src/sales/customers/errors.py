from sales.core.errors import Conflict, NotFound


class StalePreferences(Conflict):
    code, title = "stale_preferences", "Newer preferences are already stored"


class ViewIdConflict(Conflict):
    code, title = "view_id_conflict", "This view id was recorded with other values"


class CustomerNotFound(NotFound):
    code, title = "customer_not_found", "Customer not found"
