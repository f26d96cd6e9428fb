"""/api/v1/sales/refunds: refund eligibility, requests, decisions and timelines (issue 12; PRD §7.2 Refund APIs,
§6.4 RFR-001..006)."""
from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from uuid import UUID

from pydantic import Field, TypeAdapter, ValidationError

from fastapi import Depends, Query, Request
from starlette.datastructures import UploadFile

from sales.core import files
from sales.core.errors import InvalidInput
from sales.core.fields import QueryBoolean, Text, UTCDatetime
from sales.core.http import Conn, Now, Page, Paging, make_router, page_of, respond
from sales.core.openapi import problem_response
from sales.refunds import repository, service
from sales.refunds.enums import RefundStatus, RefundType
from sales.refunds.permissions import EligibilityRead as EligibilityReader
from sales.refunds.permissions import GuaranteesRead as GuaranteesReader
from sales.refunds.permissions import GuaranteesWrite as GuaranteesWriter
from sales.refunds.permissions import RefundDecide, RefundEvidence, RefundsRead
from sales.refunds.permissions import RefundRequest as RefundRequester
from sales.refunds.schemas import (EVIDENCE_BODY, EligibilityRead, EvidenceKind, EvidenceRead, EvidenceUpload,
                                   GuaranteesRead, GuaranteesWrite, RefundApprove, RefundCreate, RefundDetail,
                                   RefundRead, RefundReject)

router = make_router(tags=["refunds"])


def refund_sla(request: Request) -> timedelta:
    """The refund SLA in force (SALES_REFUND_SLA_DAYS, default 7 days)."""
    return timedelta(days=request.app.state.settings.refund_sla_days)


Sla = Annotated[timedelta, Depends(refund_sla)]


async def refund_filters(status: RefundStatus | None = None, user_id: UUID | None = None,
                         order_id: UUID | None = None, type: RefundType | None = None,
                         flagged: QueryBoolean | None = None, breached: QueryBoolean | None = None,
                         from_: Annotated[UTCDatetime | None, Query(alias="from")] = None,
                         to: UTCDatetime | None = None) -> dict:
    return {"status": status.value if status else None, "user_id": user_id, "order_id": order_id, "type": type.value if type else None,
            "flagged": flagged, "breached": breached, "from": from_, "to": to}


Filters = Annotated[dict, Depends(refund_filters)]


@router.get("/refunds/eligibility/{order_id}", response_model=EligibilityRead)
async def get_eligibility(order_id: UUID, principal: EligibilityReader, conn: Conn, now: Now, sla: Sla,
                          type: RefundType = RefundType.REFUND):
    """Whether a refund of the order is possible now, how much and why: each rule (RFR-001, RFR-002, RFR-006,
    RFR-003/004) with pass/fail and its figures; with `type=GUARANTEE_CLAIM` the plan's guarantee's terms
    (GUARANTEE, GUARANTEE-WINDOW, GUARANTEE-AMOUNT). A CUSTOMER sees only their own orders (others' are 404)."""
    return respond(await service.eligibility(conn, principal, order_id=order_id, now=now, sla=sla, type_=type))


@router.post("/refunds", response_model=RefundRead, status_code=201,
             responses={409: problem_response("The order already has an open refund request")})
async def post_refund(data: RefundCreate, principal: RefundRequester, conn: Conn, now: Now, sla: Sla):
    """Request a refund of an order (the CUSTOMER who owns it, or a SUPPORT_AGENT on their behalf). The rules
    decide at once: not eligible -> REJECTED with the rule outcomes; under Rs. 500 -> auto-approved and sent to
    Billing (PROCESSING, RFR-003); Rs. 500..5,000 -> PENDING_APPROVAL; above -> PENDING_MANAGER_APPROVAL
    (RFR-004). Idempotency-Key honoured."""
    return respond(await service.request_refund(conn, principal, data=data, now=now, sla=sla), 201)


@router.get("/refunds", response_model=Page[RefundRead])
async def list_refunds(principal: RefundsRead, conn: Conn, now: Now, paging: Paging, filters: Filters):
    """Refund requests, newest first (by requested_at); a CUSTOMER sees only their own. `from`/`to` bound
    requested_at ([from, to)); `breached=true` lists those past their SLA (resolved late or still open past
    expected_resolution_by)."""
    items = await service.list_refunds(conn, principal, filters=filters, limit=paging.limit, cursor=paging.cursor,
                                       now=now)
    return respond(page_of(items, paging.limit, service.cursor_of))


@router.get("/refunds/{refund_id}", response_model=RefundDetail,
            responses={404: problem_response("Unknown refund, or another customer's")})
async def get_refund(refund_id: UUID, principal: RefundsRead, conn: Conn, now: Now):
    """One refund with its timeline: requested, decision, sent to Billing, money returned; each step with its
    time and actor."""
    return respond(await service.get_refund(conn, principal, refund_id=refund_id, now=now))


@router.post("/refunds/{refund_id}/approve", response_model=RefundDetail,
             responses={404: problem_response("Unknown refund"),
                        409: problem_response("The refund is not waiting for a decision (or was decided "
                                              "concurrently), or its order has another open request")})
async def approve_refund(refund_id: UUID, data: RefundApprove, principal: RefundDecide, conn: Conn, now: Now):
    """Approve a waiting refund (a SUPPORT_AGENT: PENDING_APPROVAL / UNDER_INVESTIGATION up to Rs. 5,000, not
    flagged; a manager: any), or, as a manager, an ineligible REJECTED request as a policy exception (`reason`
    required; `policy_exception` true, audited). APPROVED then at once PROCESSING: `sales.refund.requested` to
    Billing. `amount` (default: the amount asked for) never above what the rules allowed nor paid minus
    refunded (422 naming `amount`)."""
    return respond(await service.approve(conn, principal, refund_id=refund_id, data=data, now=now))


@router.post("/refunds/{refund_id}/reject", response_model=RefundDetail,
             responses={404: problem_response("Unknown refund"),
                        409: problem_response("The refund is not waiting for a decision")})
async def reject_refund(refund_id: UUID, data: RefundReject, principal: RefundDecide, conn: Conn, now: Now):
    """Reject a waiting refund with a reason (who may approve it may reject it); the customer is told."""
    return respond(await service.reject(conn, principal, refund_id=refund_id, data=data, now=now))


@router.post("/refunds/{refund_id}/evidence", response_model=EvidenceRead, status_code=201,
             openapi_extra={"requestBody": EVIDENCE_BODY},
             responses={404: problem_response("Unknown refund, or another customer's"),
                        409: problem_response("Evidence is taken on guarantee claims awaiting a decision")})
async def add_evidence(refund_id: UUID, request: Request, principal: RefundEvidence, conn: Conn, now: Now):
    """Attach evidence to a guarantee claim under investigation (multipart: `file` a JPEG, PNG or PDF recognised
    by its content, at most SALES_MAX_EVIDENCE_BYTES (5 MB); `note` up to 1,000 characters; `kind` one of the
    guarantee's evidence_required). By the customer who filed it or refund staff; stored with its sha256."""
    settings = request.app.state.settings
    store = files.TrackedStore(files.LocalFileStore(settings.evidence_dir), engine=request.app.state.engine,
                               referenced=repository.evidence_keys)
    request.state.uow.on_end(store.settle)  # a rolled-back request leaves no file behind
    upload = await _evidence_form(request, store=store, max_bytes=settings.max_evidence_bytes)
    return respond(await service.add_evidence(conn, principal, refund_id=refund_id, upload=upload, now=now), 201)


_NOTE = TypeAdapter(Annotated[Text, Field(min_length=1, max_length=1000)])
_KIND = TypeAdapter(EvidenceKind)


async def _evidence_form(request: Request, *, store: files.TrackedStore, max_bytes: int) -> EvidenceUpload:
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise InvalidInput(("file",), "send multipart/form-data with a `file` field")
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise InvalidInput(("file",), "a `file` field is required")
    fields = {}
    for name, adapter in (("note", _NOTE), ("kind", _KIND)):
        value = form.get(name)
        if value is None:
            fields[name] = None
            continue
        try:
            fields[name] = adapter.validate_python(value)
        except (ValidationError, TypeError):
            raise InvalidInput((name,), f"invalid `{name}`") from None
    content = await upload.read(max_bytes + 1)
    filename = (upload.filename or "evidence")[-255:]
    return EvidenceUpload(content=content, filename=filename, store=store, max_bytes=max_bytes,
                          **fields)


@router.get("/guarantees", response_model=GuaranteesRead)
async def get_guarantees(principal: GuaranteesReader, conn: Conn):
    """Every plan's guarantee (refund staff read): description, window_days, condition, refund_percentage,
    evidence_required."""
    return respond(await service.get_guarantees(conn))


@router.put("/guarantees", response_model=GuaranteesRead)
async def put_guarantees(data: GuaranteesWrite, principal: GuaranteesWriter, conn: Conn, now: Now):
    """Replace the guarantees (SALES_ADMIN): plans left out have none afterwards; each plan at most once and
    known (422 naming `items.N.plan_id`). Audited per plan changed."""
    return respond(await service.put_guarantees(conn, principal, data=data, now=now))
