"""/api/v1/sales/refunds: refund eligibility (issue 12; PRD §7.2 Refund APIs, §6.4 RFR-001..006)."""
from __future__ import annotations

from uuid import UUID

from sales.core.http import Conn, Now, make_router, respond
from sales.refunds import service
from sales.refunds.permissions import EligibilityRead as EligibilityReader
from sales.refunds.schemas import EligibilityRead

router = make_router(tags=["refunds"])


@router.get("/refunds/eligibility/{order_id}", response_model=EligibilityRead)
async def get_eligibility(order_id: UUID, principal: EligibilityReader, conn: Conn, now: Now):
    """Whether a refund of the order is possible now, how much and why: each rule (RFR-001, RFR-002, RFR-006,
    RFR-003/004) with pass/fail and its figures. A CUSTOMER sees only their own orders (others' are 404)."""
    return respond(await service.eligibility(conn, principal, order_id=order_id, now=now))
