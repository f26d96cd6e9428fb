from sales.core.errors import Conflict, NotFound


class CommissionNotFound(NotFound):
    code, title = "commission_not_found", "Commission not found"


class PlanNotFound(NotFound):
    code, title = "commission_plan_not_found", "Commission plan not found"


class RmNotFound(NotFound):
    code, title = "rm_not_found", "RM not found"


class NotApprovable(Conflict):
    code, title = "commission_not_approvable", "Only an EARNED commission can be approved"


class SecondApproverRequired(Conflict):
    code, title = "second_approver_required", "This exception needs a second, different approver"


class SelfApproval(Conflict):
    code, title = "self_approval", "Nobody approves their own commission"


class BatchRejected(Conflict):
    code, title = "batch_rejected", "The batch was not approved: nothing changed"


class DisputeWindowClosed(Conflict):
    code, title = "dispute_window_closed", "Disputes are raised within 7 days of the calculation (CMR-006)"


class NotDisputable(Conflict):
    code, title = "commission_not_disputable", "This commission cannot be disputed in its status"


class NotDisputed(Conflict):
    code, title = "commission_not_disputed", "Only a DISPUTED commission can be resolved"


class NotTheEarner(Conflict):
    code, title = "not_the_earner", "Only the RM who earned a commission may dispute it"


class PayoutReferenceUsed(Conflict):
    code, title = "payout_reference_used", "A payout with this reference exists"


class ChangedConcurrently(Conflict):
    code, title = "commission_changed", "The commission changed meanwhile; read it again"
