from sales.core.errors import Conflict, NotFound, SalesError


class ShortlistNotFound(NotFound):
    code, title = "shortlist_not_found", "Shortlist not found"


class ShareNotFound(NotFound):
    """Unknown, expired or revoked share token (the public page shows a friendly page instead)."""

    code, title = "share_not_found", "Shortlist link not found or expired"


class RequirementsChanged(Conflict):
    """Two saves raced for the same version number: the later one is refused."""

    code, title = "requirements_changed", "Requirements changed meanwhile"


class ShortlistChanged(Conflict):
    code, title = "shortlist_changed", "Shortlist changed meanwhile"


class EmptyShortlist(Conflict):
    code, title = "shortlist_empty", "Shortlist is empty"


class RequirementsMissing(Conflict):
    code, title = "requirements_missing", "No requirements captured yet"


class FeedbackRateLimited(SalesError):
    status_code, code, title = 429, "rate_limited", "Too many feedback requests"
