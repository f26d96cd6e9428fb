"""The SUPPORT_AGENT's refund investigation (issue 12): the refunds waiting for a decision, and one refund on one
page (its rules and timeline, the order and payments, plan usage, notifications sent, the pipeline that sold
it, the evidence) with approve / reject. The same use cases as the refund API, with the session's principal."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Form, Request
from pydantic import ValidationError
from starlette.responses import Response

from sales.console.pages_desk import error_message
from sales.console.web import Ctx, Write, redirect, render, roles
from sales.core.auth import Role
from sales.core.errors import SalesError
from sales.core.http import Conn, Now
from sales.customers import context as customer_context
from sales.customers.errors import CustomerNotFound
from sales.notifications import service as notifications_service
from sales.orders import repository as orders_repository
from sales.pipelines import service as pipelines_service
from sales.refunds import service as refunds_service
from sales.refunds.schemas import RefundApprove, RefundReject

router = APIRouter()
DECIDERS = (Role.SUPPORT_AGENT, Role.SUPERVISOR, Role.SALES_ADMIN)  # as POST /refunds/{id}/approve
Decider = Annotated[Ctx, Depends(roles(*DECIDERS))]
WAITING = ("PENDING_APPROVAL", "PENDING_MANAGER_APPROVAL", "UNDER_INVESTIGATION")


@router.get("/refunds", include_in_schema=False)
async def refunds_page(request: Request, ctx: Decider, conn: Conn, now: Now) -> Response:
    """Refunds waiting for a decision, oldest first (SLA breaches marked), and the latest decided ones."""
    waiting = []
    for status in WAITING:
        waiting += await refunds_service.list_refunds(conn, ctx.principal, filters={"status": status}, limit=200,
                                                      cursor=None, now=now)
    waiting.sort(key=lambda r: (r.requested_at, r.id))
    recent = await refunds_service.list_refunds(conn, ctx.principal, filters={}, limit=20, cursor=None, now=now)
    return render(request, "refunds.html", ctx, waiting=waiting, recent=recent, now=now)


async def _page(request: Request, ctx: Ctx, conn: Conn, now: Any, refund_id: UUID, *, status_code: int = 200,
                error: str | None = None, error_field: str | None = None, typed: dict[str, str] | None = None,
                done: str | None = None) -> Response:
    refund = await refunds_service.get_refund(conn, ctx.principal, refund_id=refund_id, now=now)
    order = await orders_repository.get(conn, refund.order_id)
    try:
        customer = await customer_context.get_context(conn, ctx.principal, user_id=refund.user_id, now=now)
    except CustomerNotFound:  # pragma: no cover - refund staff read every customer
        customer = None
    history = []
    if order.pipeline_id is not None:
        try:
            history, _ = await pipelines_service.stage_history(conn, ctx.principal, pipeline_id=order.pipeline_id,
                                                               limit=100, cursor=None)
        except SalesError:  # the pipeline is not known here (Billing may name one first)
            history = []
    sent = await notifications_service.sent_to(conn, recipient_id=refund.user_id)
    return render(request, "refund.html", ctx, status_code=status_code, r=refund, order=order, c=customer,
                  history=history, notifications=sent, error=error, error_field=error_field, typed=typed or {},
                  done=done, now=now, waiting=refund.status in WAITING, current_id=None,
                  exception_possible=refund.status == "REJECTED" and refund.decided_by is None
                  and ctx.role in (Role.SUPERVISOR, Role.SALES_ADMIN))


@router.get("/refunds/{refund_id}", include_in_schema=False)
async def refund_page(request: Request, refund_id: UUID, ctx: Decider, conn: Conn, now: Now) -> Response:
    try:
        return await _page(request, ctx, conn, now, refund_id, done=request.query_params.get("done"))
    except SalesError as exc:
        return render(request, "error.html", ctx, status_code=exc.status_code, title="Refund not found",
                      message="This refund does not exist.")


@router.post("/refunds/{refund_id}/decide", include_in_schema=False)
async def decide(request: Request, refund_id: UUID, ctx: Write, conn: Conn, now: Now,
                 decision: Annotated[str, Form(max_length=10)] = "",
                 amount: Annotated[str, Form(max_length=20)] = "",
                 reason: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """Approve (an amount, optional; a reason, required for a policy exception) or reject (a reason) through the
    API's use cases; a refusal (role, amount, a concurrent decision) shows inline with what was typed kept."""
    if ctx.role not in DECIDERS:
        return render(request, "error.html", ctx, status_code=403, title="Not available for your role",
                      message="Only a support agent or a manager decides refunds.")
    typed = {"decision": decision, "amount": amount, "reason": reason}
    try:
        if decision == "approve":
            body: dict[str, Any] = {"reason": reason.strip() or None}
            if amount.strip():
                try:
                    body["amount"] = Decimal(amount.strip().replace(",", ""))
                except InvalidOperation:
                    return await _page(request, ctx, conn, now, refund_id, status_code=422, typed=typed,
                                       error="Amount: enter rupees and paise, such as 1399.07.",
                                       error_field="amount")
            await refunds_service.approve(conn, ctx.principal, refund_id=refund_id,
                                          data=RefundApprove.model_validate(body), now=now)
        elif decision == "reject":
            await refunds_service.reject(conn, ctx.principal, refund_id=refund_id,
                                         data=RefundReject.model_validate({"reason": reason.strip()}), now=now)
        else:
            return await _page(request, ctx, conn, now, refund_id, status_code=422, typed=typed,
                               error="Choose approve or reject.", error_field="decision")
    except ValidationError as exc:
        first = exc.errors()[0]
        fld = str(first["loc"][0]) if first["loc"] else None
        return await _page(request, ctx, conn, now, refund_id, status_code=422, typed=typed, error_field=fld,
                           error=f"{(fld or '').capitalize()}: {first['msg']}." if fld else f"{first['msg']}.")
    except SalesError as exc:
        message, fld = error_message(exc)
        return await _page(request, ctx, conn, now, refund_id, status_code=exc.status_code, typed=typed,
                           error=message, error_field=fld)
    return redirect(f"/console/refunds/{refund_id}?done={'approved' if decision == 'approve' else 'rejected'}",
                    request)
