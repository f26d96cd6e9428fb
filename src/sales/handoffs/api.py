"""/api/v1/sales/handoffs (issue 15)."""
from __future__ import annotations

from sales.core.http import Conn, Now, make_router, respond
from sales.core.openapi import problem_response
from sales.handoffs import service
from sales.handoffs.permissions import HandoffsCreate
from sales.handoffs.schemas import HandoffCreate, HandoffRead

router = make_router(tags=["handoffs"])


@router.post("/handoffs", status_code=201, response_model=HandoffRead,
             responses={409: problem_response("TO_ASSISTED: the user already has an RM; TO_SELF_SERVICE: none")})
async def create_handoff(data: HandoffCreate, principal: HandoffsCreate, conn: Conn, now: Now):
    """TO_ASSISTED: a lead with what the user did (`context`) goes to an RM through the allocation engine (or the
    queue); TO_SELF_SERVICE: the RM's open pipeline(s) close with the reason. Recorded and emitted
    (sales.handoff.recorded)."""
    return respond(await service.create_handoff(conn, principal, data=data, now=now), 201)
