from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from sales.closure.enums import DealType, DocumentKind
from sales.core.fields import Boolean


class ChecklistItem(BaseModel):
    key: str
    label: str
    done: bool
    done_at: datetime | None
    done_by: UUID | None


class ChecklistRead(BaseModel):
    pipeline_id: UUID
    deal_type: DealType
    items: list[ChecklistItem]
    complete: bool
    missing_items: list[str] = Field(description="keys of the items still open: CLOSED_WON waits for them")
    version: int = Field(description="0 until the checklist is first changed")
    updated_at: datetime | None


class ChecklistUpdate(BaseModel):
    """PATCH /pipelines/{id}/checklist: tick (true) or untick (false) items of the deal type, or change the deal
    type (items of the other type that it shares stay ticked)."""

    model_config = ConfigDict(extra="forbid")

    deal_type: DealType | None = None
    agreement_drafted: Boolean | None = None
    token_amount_received: Boolean | None = None
    id_documents_collected: Boolean | None = None
    move_in_date_fixed: Boolean | None = None
    title_documents_verified: Boolean | None = None
    registration_date_fixed: Boolean | None = None


class DocumentRead(BaseModel):
    id: UUID
    pipeline_id: UUID
    kind: DocumentKind
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_by: UUID
    uploaded_at: datetime


UPLOAD_BODY = {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary",
                            "description": "a PDF, JPEG or PNG (checked by content), at most SALES_MAX_DOCUMENT_BYTES"},
                   "kind": {"type": "string", "enum": [k.value for k in DocumentKind], "default": "OTHER"}}}}}}
