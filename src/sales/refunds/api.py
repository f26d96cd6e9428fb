"""/api/v1/sales/refunds: refund eligibility, requests, decisions and timelines (issue 12; PRD §7.2 Refund APIs,
§6.4 RFR-001..006)."""
from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Query, Request

from sales.core.fields import QueryBoolean, UTCDatetime
from sales.core.http import Conn, Now, Page, Paging, make_router, page_of, respond
from sales.core.openapi import problem_response
from sales.refunds import service
from sales.refunds.enums import RefundStatus, RefundType
from sales.refunds.permissions import EligibilityRead as EligibilityReader
from sales.refunds.permissions import RefundDecide, RefundsRead
from sales.refunds.permissions import RefundRequest as RefundRequester
from sales.refunds.schemas import (EligibilityRead, RefundApprove, RefundCreate, RefundDetail, RefundRead,
                                   RefundReject)

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
async def get_eligibility(order_id: UUID, principal: EligibilityReader, conn: Conn, now: Now, sla: Sla):
    """Whether a refund of the order is possible now, how much and why: each rule (RFR-001, RFR-002, RFR-006,
    RFR-003/004) with pass/fail and its figures. A CUSTOMER sees only their own orders (others' are 404)."""
    return respond(await service.eligibility(conn, principal, order_id=order_id, now=now, sla=sla))


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
