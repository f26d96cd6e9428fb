from sales.core.errors import Conflict, NotFound


class AllocationNotFound(NotFound):
    code, title = "allocation_not_found", "Allocation not found"


class AllocationNotLive(Conflict):
    code, title = "allocation_not_live", "Allocation is no longer live"


class RMAtCapacity(Conflict):
    code, title = "rm_at_capacity", "RM at capacity"


class BulkReassignFailed(Conflict):
    code, title = "bulk_reassign_failed", "Bulk reassignment failed; nothing was changed"
