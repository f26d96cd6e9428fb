"""The supervisor's room: team workload, queued leads, single and bulk reassignment, the pipeline funnel."""
from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import Response

from sales.allocation.schemas import BulkReassignRequest, ReassignRequest
from sales.allocation import reads as allocation_reads, service as allocation_service
from sales.console.pages_desk import error_message
from sales.console.web import SUPERVISING, Ctx, Write, redirect, render, roles
from sales.core.auth import Role
from sales.core.errors import SalesError
from sales.core.http import Conn, Now
from sales.directory import service as directory_service
from sales.pipelines import service as pipelines_service
from sales.pipelines.enums import Stage
from sales.tasks import service as tasks_service

router = APIRouter()
OVERDUE_SHOWN = 20  # issue 15: overdue tasks in the room, most overdue first (of the first 200 in scope)
Supervising = Annotated[Ctx, Depends(roles(*SUPERVISING))]
QUEUED_SHOWN = 50


def _uuid(value: str | None) -> UUID | None:
    try:
        return UUID(value) if value else None
    except ValueError:
        return None


async def _teams(conn: Conn, ctx: Ctx) -> list[Any]:
    teams = await directory_service.list_teams(conn, ctx.principal, city=None, limit=500, cursor=None)
    return sorted(teams[:500], key=lambda t: (t.city, t.name))


async def _room(request: Request, ctx: Ctx, conn: Conn, now: Any, *, team_id: UUID | None, city: str | None,
                status_code: int = 200, form_error: str | None = None, item_errors: dict[str, str] | None = None,
                typed: dict[str, Any] | None = None, done: str | None = None) -> Response:
    teams = await _teams(conn, ctx)
    known = {t.id for t in teams}
    if team_id not in known:
        team_id = None
    if team_id is None and not city and ctx.role is Role.SUPERVISOR and teams:
        team_id = teams[0].id  # a supervisor starts on their (first) team
    team = next((t for t in teams if t.id == team_id), None)
    workload = await allocation_reads.workload(conn, ctx.principal, now=now, team_id=team_id, city=city)
    rms = sorted(workload.rms, key=lambda r: (-float(r.utilization), r.name))
    # Live allocations for reassignment: each RM's queue (only with one team selected, so it stays small).
    live: list[Any] = []
    if team is not None:
        for rm in rms:
            for item in await allocation_reads.rm_queue(conn, ctx.principal, rm_id=rm.rm_id, now=now):
                live.append((rm, item))
        live.sort(key=lambda pair: (-pair[1].priority, pair[1].sla_deadline))
    queued = await _queued(conn, ctx, now, city=city or (team.city if team else None))
    filters = {"team_id": team_id, "city": city}
    stats = await pipelines_service.pipeline_stats(conn, ctx.principal, filters=filters, today=now.date())
    order = [s for s in Stage]
    funnel = {"labels": [s.value.replace("_", " ").title() for s in order],
              "counts": [stats.stages[s].count for s in order],
              "values": [float((stats.stages[s].deal_value / Decimal(100000)).quantize(Decimal("0.01")))
                         for s in order]}
    cities = sorted({t.city for t in teams})
    # Issue 15: the overdue follow-up tasks of the room's RMs (the caller's scope), most overdue first.
    overdue = [t for t in await tasks_service.list_tasks(conn, ctx.principal, now=now, limit=200,
                                                         cursor=None, filters={"overdue": True})
               if team is None or t.rm_id in {rm.rm_id for rm in rms}][:OVERDUE_SHOWN]
    return render(request, "team.html", ctx, status_code=status_code, teams=teams, team=team, team_id=team_id,
                  city=city, cities=cities, workload=workload, rms=rms, live=live, queued=queued, stats=stats,
                  overdue_tasks=overdue, team_names={str(t.id): t.name for t in teams},
                  stages=order, funnel=funnel, form_error=form_error, item_errors=item_errors or {},
                  typed=typed or {}, done=done, now=now)


async def _queued(conn: Conn, ctx: Ctx, now: Any, *, city: str | None) -> list[Any]:
    """Leads waiting for capacity (LAR-007), highest priority then oldest."""
    return await allocation_reads.list_queued_leads(conn, ctx.principal, city=city, limit=QUEUED_SHOWN)


@router.get("/team", include_in_schema=False)
async def team_room(request: Request, ctx: Supervising, conn: Conn, now: Now) -> Response:
    q = request.query_params
    return await _room(request, ctx, conn, now, team_id=_uuid(q.get("team_id")), city=q.get("city") or None,
                       done=q.get("done"))


@router.post("/team/reassign", include_in_schema=False)
async def reassign(request: Request, ctx: Write, conn: Conn, now: Now,
                   team_id: Annotated[str, Form()] = "", city: Annotated[str, Form()] = "",
                   to_rm_id: Annotated[str, Form()] = "", reason: Annotated[str, Form(max_length=1000)] = "",
                   reset_sla: Annotated[str, Form()] = "") -> Response:
    """One or many live allocations to a named RM, or back through the engine; always with a reason."""
    if ctx.role not in SUPERVISING:
        return render(request, "error.html", ctx, status_code=403, title="Not available for your role",
                      message="Only supervisors and sales admins reassign leads.")
    form = await request.form()
    ids = [_uuid(str(v)) for v in form.getlist("allocation_ids")]
    ids = [i for i in ids if i is not None]
    target = _uuid(to_rm_id)
    typed = {"reason": reason, "to_rm_id": to_rm_id, "reset_sla": bool(reset_sla), "ids": {str(i) for i in ids}}
    back = dict(team_id=_uuid(team_id), city=city or None, typed=typed)
    if not ids:
        return await _room(request, ctx, conn, now, status_code=422, form_error="Select at least one lead to reassign.",
                           **back)
    if not reason.strip():
        return await _room(request, ctx, conn, now, status_code=422,
                           form_error="Give a reason: it is kept in the audit trail and shown to both RMs.", **back)
    try:
        if len(ids) == 1:
            await allocation_service.reassign(
                conn, ctx.principal, allocation_id=ids[0], now=now,
                data=ReassignRequest(to_rm_id=target, reason=reason.strip(), reset_sla=bool(reset_sla)))
        else:
            await allocation_service.bulk_reassign(
                conn, ctx.principal, now=now,
                data=BulkReassignRequest(allocation_ids=ids, to_rm_id=target, reason=reason.strip(),
                                         reset_sla=bool(reset_sla)))
    except SalesError as exc:
        message, _ = error_message(exc)
        item_errors = {str(r["allocation_id"]): r["error"] for r in exc.extra.get("results", []) if not r.get("ok")}
        if len(ids) == 1 and not item_errors:
            item_errors = {str(ids[0]): message}
        return await _room(request, ctx, conn, now, status_code=exc.status_code, form_error=message,
                           item_errors=item_errors, **back)
    params = {"done": str(len(ids)), **({"team_id": team_id} if team_id else {}), **({"city": city} if city else {})}
    return redirect("/console/team?" + urlencode(params), request)
