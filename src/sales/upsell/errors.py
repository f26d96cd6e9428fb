from sales.core.errors import Conflict, NotFound


class UpsellNotFound(NotFound):
    code, title = "upsell_not_found", "Upsell not found"


class CustomerNotFound(NotFound):
    code, title = "customer_not_found", "Customer not found"


class UpsellSuppressed(Conflict):
    """The gating rules blocked the upsell; `blocking_rules` names them and `decision_id` the recorded decision."""

    code, title = "upsell_suppressed", "Upsell suppressed"


class UpsellClosed(Conflict):
    """A CONVERTED, EXPIRED or DISMISSED upsell takes no further response."""

    code, title = "upsell_closed", "Upsell closed"


class InvalidResponse(Conflict):
    """A response that does not move the upsell forward (e.g. CLICKED before PRESENTED)."""

    code, title = "invalid_response", "Response not allowed from the current status"


class TriggerConfigChanged(Conflict):
    """PUT /upsells/triggers named a version that is no longer the one in force (or lost a concurrent race)."""

    code, title = "trigger_config_changed", "Trigger configuration changed"
