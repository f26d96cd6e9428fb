from sales.core.errors import NotFound


class LeadNotFound(NotFound):
    """A lead the caller may not work is answered as if it did not exist (ARCHITECTURE.md §2.2)."""

    code, title = "lead_not_found", "Lead not found"
