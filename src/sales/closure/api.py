"""/api/v1/sales/pipelines/{id}/checklist and /documents (issue 15)."""
from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request
from starlette.datastructures import UploadFile

from sales.closure import service
from sales.closure.enums import DocumentKind
from sales.closure.permissions import ClosureRead, ClosureWrite
from sales.closure.schemas import UPLOAD_BODY, ChecklistRead, ChecklistUpdate, DocumentRead
from sales.closure.storage import tracked
from sales.core.errors import InvalidInput
from sales.core.files import TrackedStore
from sales.core.http import Conn, Now, make_router, respond
from sales.core.openapi import problem_response

router = make_router(tags=["closure"])


def _store(request: Request) -> TrackedStore:
    """The request's uploads, settled when its transaction ends: a rollback leaves no file behind."""
    store = tracked(request.app.state.settings, request.app.state.engine)
    request.state.uow.on_end(store.settle)
    return store


Store = Annotated[TrackedStore, Depends(_store)]


@router.get("/pipelines/{pipeline_id}/checklist", response_model=ChecklistRead)
async def get_checklist(pipeline_id: UUID, principal: ClosureRead, conn: Conn):
    """The deal's closure checklist (RENT or SALE; by default from the lead's segment), what is missing."""
    return respond(await service.get_checklist(conn, principal, pipeline_id=pipeline_id))


@router.patch("/pipelines/{pipeline_id}/checklist", response_model=ChecklistRead,
              responses={409: problem_response("The pipeline is closed, or the checklist changed meanwhile")})
async def update_checklist(pipeline_id: UUID, data: ChecklistUpdate, principal: ClosureWrite, conn: Conn, now: Now):
    """Tick (true) or untick (false) items, or change the deal type."""
    return respond(await service.update_checklist(conn, principal, pipeline_id=pipeline_id, data=data, now=now))


@router.get("/pipelines/{pipeline_id}/documents", response_model=list[DocumentRead])
async def list_documents(pipeline_id: UUID, principal: ClosureRead, conn: Conn):
    """The deal's documents, oldest first."""
    return respond(await service.list_documents(conn, principal, pipeline_id=pipeline_id))


@router.post("/pipelines/{pipeline_id}/documents", status_code=201, response_model=DocumentRead,
             openapi_extra={"requestBody": UPLOAD_BODY},
             responses={413: problem_response("Larger than SALES_MAX_DOCUMENT_BYTES"),
                        415: problem_response("Not a PDF, JPEG or PNG by content, or its name or type lies")})
async def upload_document(pipeline_id: UUID, request: Request, principal: ClosureWrite, conn: Conn, now: Now,
                          store: Store):
    """Upload a deal document (multipart field `file`, optional `kind`): checked by its content, kept with its
    SHA-256 on disk (or in the S3-compatible store when configured)."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise InvalidInput(("file",), "send the document as multipart/form-data with a `file` field")
    form = await request.form()
    upload, kind = form.get("file"), form.get("kind") or DocumentKind.OTHER.value
    if not isinstance(upload, UploadFile):
        raise InvalidInput(("file",), "multipart upload needs a `file` field")
    if kind not in DocumentKind.__members__:
        raise InvalidInput(("kind",), f"one of {', '.join(DocumentKind)}")
    filename = (upload.filename or "")[:255]
    settings = request.app.state.settings
    return respond(await service.upload_document(
        conn, principal, pipeline_id=pipeline_id, filename=filename, declared_type=upload.content_type,
        content=await upload.read(), kind=DocumentKind(kind), store=store, max_bytes=settings.max_document_bytes,
        now=now), 201)
