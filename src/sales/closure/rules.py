"""Pure deal-closure rules (issue 15): the checklist of each deal type and what a document's bytes are."""
from __future__ import annotations

from sales.closure.enums import DealType
from sales.core import files

CHECKLISTS: dict[DealType, tuple[tuple[str, str], ...]] = {
    DealType.RENT: (
        ("agreement_drafted", "Rental agreement drafted"),
        ("token_amount_received", "Token amount received"),
        ("id_documents_collected", "ID documents collected"),
        ("move_in_date_fixed", "Move-in date fixed"),
    ),
    DealType.SALE: (
        ("agreement_drafted", "Sale agreement drafted"),
        ("token_amount_received", "Token amount received"),
        ("id_documents_collected", "ID documents collected"),
        ("title_documents_verified", "Title documents verified"),
        ("registration_date_fixed", "Registration date fixed"),
    ),
}
ALL_ITEMS = tuple(dict.fromkeys(key for items in CHECKLISTS.values() for key, _ in items))

EXTENSIONS = {".pdf": "application/pdf", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}


def default_deal_type(segment: str | None) -> DealType:
    """A buyer's deal is a SALE; everything else (tenants, unknown) a RENT until the RM says otherwise."""
    return DealType.SALE if segment == "BUYER" else DealType.RENT


def missing(deal_type: DealType, done: set[str]) -> list[str]:
    return [key for key, _ in CHECKLISTS[deal_type] if key not in done]


def extension_of(filename: str) -> str:
    dot = filename.rfind(".")
    return filename[dot:].lower() if dot > 0 else ""


def document_problem(*, filename: str, declared: str | None, content: bytes) -> tuple[str | None, str | None]:
    """(content type, None) for an acceptable document, else (None, why not)."""
    actual = files.sniff(content)
    if actual is None:
        return None, "only PDF, JPEG and PNG documents are accepted (checked by their content)"
    claimed = EXTENSIONS.get(extension_of(filename))
    if claimed is None:
        return None, f"the file name must end in .pdf, .jpg, .jpeg or .png (content is {actual})"
    if claimed != actual:
        return None, f"the file name says {claimed} but the content is {actual}"
    if declared not in (None, "", "application/octet-stream") and declared.split(";")[0].strip().lower() != actual:
        return None, f"the declared type {declared} does not match the content ({actual})"
    return actual, None
