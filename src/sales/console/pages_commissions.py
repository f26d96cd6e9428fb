"""Commission pages (issue 13): the RM's lines with their explanations and a dispute button (CMR-006), and
FINANCE_ADMIN's approval queue with batch approve and the month's payout report with its payroll CSV download.
The same use cases as GET /commissions, POST /commissions/{id}/dispute, POST /commissions/batch-approve and GET
/commissions/payout-report, in the request's transaction, with the session's principal."""
from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import Response

from sales.commissions import rules
from sales.commissions import service as commission_service
from sales.commissions.enums import DISPUTABLE
from sales.commissions.errors import BatchRejected
from sales.console.pages_desk import error_message
from sales.console.web import Ctx, Write, redirect, render, roles
from sales.core.auth import Role
from sales.core.errors import SalesError
from sales.core.http import Conn, Now

router = APIRouter()
READERS = (Role.RM, Role.SUPERVISOR, Role.FINANCE_ADMIN, Role.SALES_ADMIN)  # as GET /commissions
Reader = Annotated[Ctx, Depends(roles(*READERS))]
_PERIOD = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")
LIMIT = 200


async def _page(request: Request, ctx: Ctx, conn: Conn, now: datetime, *, status_code: int = 200,
                error: str | None = None, failures: list | None = None) -> Response:
    q = request.query_params
    period = q.get("period") or rules.period_of(now)
    if not _PERIOD.fullmatch(period):
        period, error, status_code = rules.period_of(now), "Period: enter a month as YYYY-MM.", 422
    finance = ctx.role is Role.FINANCE_ADMIN
    filters = {"status": "EARNED"} if finance else {}
    lines = await commission_service.list_lines(conn, ctx.principal, filters=filters, limit=LIMIT, cursor=None)
    report = await commission_service.payout_report(conn, period=period) if finance else None
    summary = None
    if ctx.role in (Role.RM, Role.SUPERVISOR):
        summary = await commission_service.summary(conn, ctx.principal, rm_id=ctx.principal.sub, now=now)

    def disputable(line) -> bool:  # type: ignore[no-untyped-def]
        return (line.rm_id == ctx.principal.sub and line.status in DISPUTABLE
                and rules.may_dispute(line.created_at, now))

    return render(request, "commissions.html", ctx, status_code=status_code, lines=lines[:LIMIT], finance=finance,
                  report=report, period=period, summary=summary, error=error, failures=failures or [],
                  disputable=disputable, done=q.get("done"), now=now)


@router.get("/commissions", include_in_schema=False)
async def commissions_page(request: Request, ctx: Reader, conn: Conn, now: Now) -> Response:
    return await _page(request, ctx, conn, now)


@router.get("/commissions/payout-report.csv", include_in_schema=False)
async def payout_csv(request: Request, ctx: Reader, conn: Conn, now: Now) -> Response:
    """The payroll CSV of the month (as GET /commissions/payout-report with Accept: text/csv), FINANCE_ADMIN's."""
    if ctx.role is not Role.FINANCE_ADMIN:
        return render(request, "error.html", ctx, status_code=403, title="Not available for your role",
                      message="Only finance downloads the payout report.")
    period = request.query_params.get("period") or rules.period_of(now)
    if not _PERIOD.fullmatch(period):
        return await _page(request, ctx, conn, now, status_code=422, error="Period: enter a month as YYYY-MM.")
    report = await commission_service.payout_report(conn, period=period)
    return Response(commission_service.payout_csv(report), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="commission-payout-{period}.csv"', "Cache-Control": "no-store"})


@router.post("/commissions/{commission_id}/dispute", include_in_schema=False)
async def dispute(request: Request, commission_id: uuid.UUID, ctx: Write, conn: Conn, now: Now,
                  reason: Annotated[str, Form(max_length=1000)] = "") -> Response:
    """CMR-006 from the RM's page: the reason is required; window, status and ownership as the API checks."""
    if ctx.role not in (Role.RM, Role.SUPERVISOR):
        return render(request, "error.html", ctx, status_code=403, title="Not available for your role",
                      message="Only the RM who earned a commission disputes it.")
    if not reason.strip() or "\x00" in reason:
        return await _page(request, ctx, conn, now, status_code=422, error="Reason: say what is wrong.")
    try:
        await commission_service.dispute(conn, ctx.principal, line_id=commission_id, reason=reason.strip(), now=now)
    except SalesError as exc:
        message, _ = error_message(exc)
        return await _page(request, ctx, conn, now, status_code=exc.status_code, error=message)
    return redirect("/console/commissions?" + urlencode({"done": "disputed"}), request)


@router.post("/commissions/approve", include_in_schema=False)
async def batch_approve(request: Request, ctx: Write, conn: Conn, now: Now) -> Response:
    """Batch approval from the finance queue: all the ticked lines or none (the failures are listed)."""
    if ctx.role is not Role.FINANCE_ADMIN:
        return render(request, "error.html", ctx, status_code=403, title="Not available for your role",
                      message="Only finance approves commissions.")
    form = await request.form()
    try:
        ids = [uuid.UUID(str(v)) for v in form.getlist("ids")][:500]
    except ValueError:
        ids = []
    if not ids:
        return await _page(request, ctx, conn, now, status_code=422, error="Tick the commissions to approve.")
    try:
        result = await commission_service.batch_approve(conn, ctx.principal, ids=ids, now=now)
    except BatchRejected as exc:
        failures = [item for item in exc.extra["items"] if item["outcome"] not in ("APPROVED", "FIRST_APPROVAL")]
        return await _page(request, ctx, conn, now, status_code=409, failures=failures,
                           error="Nothing was approved: some commissions could not be.")
    except SalesError as exc:
        message, _ = error_message(exc)
        return await _page(request, ctx, conn, now, status_code=exc.status_code, error=message)
    period = str(form.get("period") or "")
    back = {"period": period} if _PERIOD.fullmatch(period) else {}
    return redirect("/console/commissions?" + urlencode({**back, "done": f"approved {len(result.items)}"}), request)
