"""/api/v1/sales/upsells (PRD §7.2; issue 11)."""
from __future__ import annotations

from enum import StrEnum
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Query, Request

from sales.catalog.enums import UserType
from sales.core.fields import Text, UTCDatetime
from sales.core.http import Conn, Now, Page, Paging, make_router, page_of, respond
from sales.core.openapi import problem_response
from sales.upsell import service
from sales.upsell.enums import UpsellChannel, UpsellStatus
from sales.upsell.errors import UpsellSuppressed
from sales.upsell.permissions import (UpsellsCheckout, UpsellsConfigure, UpsellsCreate, UpsellsFunnel, UpsellsRead,
                                      UpsellsRespond)
from sales.upsell.schemas import (CheckoutRead, DecisionRead, Funnel, Recommendations, TriggerConfigRead,
                                  TriggerConfigWrite, UpsellCreate, UpsellRead, UpsellRespond)

router = make_router(tags=["upsells"])


async def upsell_filters(user_id: UUID | None = None, status: UpsellStatus | None = None,
                         channel: UpsellChannel | None = None,
                         trigger_event: Annotated[Text | None, Query(max_length=128)] = None,
                         experiment_variant: Annotated[Text | None, Query(max_length=64)] = None,
                         created_from: UTCDatetime | None = None, created_to: UTCDatetime | None = None) -> dict:
    return {"user_id": user_id, "status": status.value if status else None,
            "channel": channel.value if channel else None, "trigger_event": trigger_event,
            "experiment_variant": experiment_variant, "created_from": created_from, "created_to": created_to}


Filters = Annotated[dict, Depends(upsell_filters)]


@router.post("/upsells", status_code=201, response_model=UpsellRead,
             responses={409: problem_response("Suppressed by the gating rules (`blocking_rules`, `decision_id`)")})
async def create_upsell(data: UpsellCreate, principal: UpsellsCreate, conn: Conn, now: Now, request: Request):
    """Create a PENDING upsell through the gating (UPR-001, UPR-005, UPR-006, UPR-004, pipeline stage); a
    suppressed decision is recorded (GET /upsells/decisions) and answered 409 `upsell_suppressed`."""
    decision, upsell = await service.create_upsell(conn, principal, data=data, now=now)
    if upsell is None:
        request.state.uow.commit_on_failure = True  # keep the SUPPRESSED decision
        raise UpsellSuppressed("the upsell was suppressed by " + ", ".join(r.rule for r in decision.rules
                                                                          if not r.passed),
                               extra={"blocking_rules": [r.rule for r in decision.rules if not r.passed],
                                      "decision_id": str(decision.id)})
    return respond(upsell, 201)


@router.get("/upsells", response_model=Page[UpsellRead])
async def list_upsells(principal: UpsellsRead, conn: Conn, paging: Paging, filters: Filters):
    """Upsells in the caller's scope (a CUSTOMER: their own), newest first."""
    items = await service.list_upsells(conn, principal, filters=filters, limit=paging.limit, cursor=paging.cursor)
    return respond(page_of(items, paging.limit, service.cursor_of))


@router.get("/upsells/decisions", response_model=Page[DecisionRead])
async def list_decisions(user_id: UUID, principal: UpsellsRead, conn: Conn, paging: Paging):
    """A user's gating decisions (CREATED | SUPPRESSED, each rule with pass/fail and its figures), newest first."""
    items = await service.list_decisions(conn, principal, user_id=user_id, limit=paging.limit,
                                         cursor=paging.cursor)
    return respond(page_of(items, paging.limit, service.decision_cursor))


class FunnelGroupBy(StrEnum):
    trigger = "trigger"
    channel = "channel"
    user_type = "user_type"
    variant = "variant"


@router.get("/upsells/triggers", response_model=TriggerConfigRead)
async def get_triggers(principal: UpsellsConfigure, conn: Conn):
    """The trigger configuration in force (version 0: the PRD defaults)."""
    return respond(await service.trigger_config(conn))


@router.put("/upsells/triggers", response_model=TriggerConfigRead,
            responses={409: problem_response("`version` is no longer the version in force")})
async def put_triggers(data: TriggerConfigWrite, principal: UpsellsConfigure, conn: Conn, now: Now):
    """Replace the trigger configuration: stored as the next version and audited."""
    return respond(await service.put_trigger_config(conn, principal, data=data, now=now))


@router.get("/upsells/funnel", response_model=Funnel)
async def funnel(principal: UpsellsFunnel, conn: Conn, now: Now,
                 from_: Annotated[UTCDatetime | None, Query(alias="from")] = None, to: UTCDatetime | None = None,
                 group_by: FunnelGroupBy | None = None):
    """Created, presented, clicked, converted, dismissed, expired, rates and revenue of the upsells created in
    [from, to) (default: the last 30 days), per trigger, channel, user type or experiment variant."""
    result = await service.funnel(conn, since=from_, until=to, group_by=group_by.value if group_by else None,
                                  now=now)
    return respond(result.model_dump(by_alias=True))


@router.get("/upsells/recommendations/{user_id}", response_model=Recommendations)
async def recommendations(user_id: UUID, principal: UpsellsRead, conn: Conn, now: Now,
                          user_type: UserType | None = None):
    """The plans worth offering the user now, ranked, with the reason, price, gains over the current plan, and
    whether gating (UPR-001/004/005/006, pipeline stage) allows showing one now and why not."""
    return respond(await service.recommendations(conn, principal, user_id=user_id,
                                                 user_type=user_type.value if user_type else None, now=now))


@router.get("/upsells/{upsell_id}", response_model=UpsellRead)
async def get_upsell(upsell_id: UUID, principal: UpsellsRead, conn: Conn):
    return respond(await service.get_upsell(conn, principal, upsell_id=upsell_id))


@router.patch("/upsells/{upsell_id}/response", response_model=UpsellRead,
              responses={409: problem_response("The upsell is closed or the response does not move it forward")})
async def record_response(upsell_id: UUID, data: UpsellRespond, principal: UpsellsRespond, conn: Conn, now: Now):
    """PRESENTED / CLICKED / DISMISSED, forward only; PRESENTED emits sales.upsell.presented."""
    return respond(await service.respond_to(conn, principal, upsell_id=upsell_id, response=data.response, now=now))


@router.post("/upsells/{upsell_id}/checkout", status_code=201, response_model=CheckoutRead,
             responses={200: {"model": CheckoutRead},
                        409: problem_response("The upsell is closed or its plan is no longer on sale")})
async def checkout(upsell_id: UUID, principal: UpsellsCheckout, conn: Conn, now: Now):
    """One-click upgrade: request the payment of the recommended plan from Billing (sales.payment.requested);
    201 the first time, 200 with the same request after."""
    result, created = await service.checkout(conn, principal, upsell_id=upsell_id, now=now)
    return respond(result, 201 if created else 200)
