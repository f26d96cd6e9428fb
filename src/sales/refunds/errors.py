from sales.core.errors import Conflict, Forbidden, NotFound, SalesError


class RefundAlreadyOpen(Conflict):
    code, title = "refund_already_open", "The order already has an open refund request"


class RefundNotFound(NotFound):
    code, title = "refund_not_found", "Refund not found"


class RefundNotPending(Conflict):
    code, title = "refund_not_pending", "The refund is not waiting for this decision"


class ManagerDecisionRequired(Forbidden):
    code, title = "manager_decision_required", "A manager (SUPERVISOR or SALES_ADMIN) decides this refund"


class RefundChangedConcurrently(SalesError):
    """A consumed event met a concurrent change of its refund: the event is retried."""

    status_code, code, title = 409, "refund_changed_concurrently", "The refund changed concurrently"


class EvidenceNotAccepted(Conflict):
    code, title = "evidence_not_accepted", "Evidence is taken on guarantee claims awaiting a decision"


class EvidenceMissing(Conflict):
    code, title = "evidence_missing", "The guarantee needs evidence the claim does not have yet"
