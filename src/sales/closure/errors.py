from sales.core.errors import Conflict, SalesError


class ChecklistIncomplete(Conflict):
    """CLOSED_WON before the deal's checklist is complete: `missing_items` names what is left."""

    code, title = "checklist_incomplete", "Deal checklist incomplete"


class ChecklistChanged(Conflict):
    code, title = "checklist_changed", "Checklist changed meanwhile"


class UnsupportedDocument(SalesError):
    """Not a PDF, JPEG or PNG by its content, or a name (extension) or declared type that lies about it."""

    status_code, code, title = 415, "unsupported_document", "Unsupported document"


class DocumentTooLarge(SalesError):
    status_code, code, title = 413, "document_too_large", "Document too large"
