"""/api/v1/sales/refunds: refund eligibility and requests (issue 12; PRD §7.2 Refund APIs, §6.4 RFR-001..006)."""
from __future__ import annotations

from uuid import UUID

from sales.core.http import Conn, Now, make_router, respond
from sales.core.openapi import problem_response
from sales.refunds import service
from sales.refunds.permissions import EligibilityRead as EligibilityReader
from sales.refunds.permissions import RefundRequest as RefundRequester
from sales.refunds.schemas import EligibilityRead, RefundCreate, RefundRead

router = make_router(tags=["refunds"])


@router.get("/refunds/eligibility/{order_id}", response_model=EligibilityRead)
async def get_eligibility(order_id: UUID, principal: EligibilityReader, conn: Conn, now: Now):
    """Whether a refund of the order is possible now, how much and why: each rule (RFR-001, RFR-002, RFR-006,
    RFR-003/004) with pass/fail and its figures. A CUSTOMER sees only their own orders (others' are 404)."""
    return respond(await service.eligibility(conn, principal, order_id=order_id, now=now))


@router.post("/refunds", response_model=RefundRead, status_code=201,
             responses={409: problem_response("The order already has an open refund request")})
async def post_refund(data: RefundCreate, principal: RefundRequester, conn: Conn, now: Now):
    """Request a refund of an order (the CUSTOMER who owns it, or a SUPPORT_AGENT on their behalf). The rules
    decide at once: not eligible -> REJECTED with the rule outcomes; under Rs. 500 -> auto-approved and sent to
    Billing (PROCESSING, RFR-003); Rs. 500..5,000 -> PENDING_APPROVAL; above -> PENDING_MANAGER_APPROVAL
    (RFR-004). Idempotency-Key honoured."""
    return respond(await service.request_refund(conn, principal, data=data, now=now), 201)
