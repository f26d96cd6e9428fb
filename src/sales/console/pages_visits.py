"""Visit plans and tasks in the console (issue 15): the planner form (a plan from the pipeline's shortlisted
listings), a plan's itinerary drawn as SVG with its table, re-planning, each visited stop's outcome, and marking
a task done from the RM's desk. The same use cases as the API, in the request's transaction, with the session's
principal; a refused form is shown again with the reason and nothing written."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import Response

from sales.console.itinerary import plot
from sales.console.pages_desk import error_message
from sales.console.web import Ctx, Session, Write, redirect, render
from sales.core.auth import Role
from sales.core.errors import SalesError
from sales.core.http import Conn, Now
from sales.journey import shortlists as shortlist_service
from sales.pipelines import service as pipelines_service
from sales.tasks import service as tasks_service
from sales.tasks.enums import ClosingStatus
from sales.tasks.schemas import TaskUpdate
from sales.visits import repository as visits_repository, service as visits_service
from sales.visits.errors import Infeasible, VisitPlanNotFound
from sales.visits.schemas import StopOutcome, VisitPlanCreate

router = APIRouter()
PLANNER_ROLES = (Role.RM, Role.SUPERVISOR, Role.SALES_ADMIN)  # as VisitPlansWrite


@dataclass(frozen=True)
class Candidate:
    """A listing the planner offers as a stop: from the pipeline's shortlists, wanted-to-visit ones first."""

    listing_id: UUID
    label: str
    wanted: bool


async def _candidates(conn: Conn, ctx: Ctx, pipeline_id: UUID) -> list[Candidate]:
    shortlists = await shortlist_service.list_shortlists(conn, ctx.principal, pipeline_id=pipeline_id)
    feedback = await shortlist_service.pipeline_feedback(conn, ctx.principal, pipeline_id=pipeline_id)
    wanted = list(feedback.visit_candidates)
    seen: dict[UUID, Candidate] = {}
    for shortlist in shortlists:
        for item in shortlist.items:
            if item.listing_id in seen:
                continue
            summary = item.listing
            label = (f"{summary.locality} · {summary.bhk or '-'} BHK · ₹{summary.price:,.0f}" if summary
                     else str(item.listing_id))
            seen[item.listing_id] = Candidate(item.listing_id, label, item.listing_id in wanted)
    order = {listing_id: n for n, listing_id in enumerate(wanted)}
    return sorted(seen.values(), key=lambda c: (order.get(c.listing_id, len(order)),))


def _text(form: Any, name: str) -> str:
    return str(form.get(name) or "").strip()


async def plan_body(conn: Conn, form: Any, candidates: list[Candidate]) -> dict[str, Any]:
    """The planner form as the API's JSON body; the start is typed coordinates or a listing's. ValueError names
    what is missing."""
    offered = {str(c.listing_id) for c in candidates}
    picked = [v for v in (str(x) for x in form.getlist("stop")) if v in offered]
    if not picked:
        raise ValueError("Choose at least one listing to visit.")
    stops = []
    for listing_id in picked:
        stop: dict[str, Any] = {"listing_id": listing_id}
        opens, closes = _text(form, f"owner_start_{listing_id}"), _text(form, f"owner_end_{listing_id}")
        if opens or closes:
            stop.update(owner_window_start=opens or None, owner_window_end=closes or None)
        stops.append(stop)
    body: dict[str, Any] = {"date": _text(form, "date"), "window_start": _text(form, "window_start"),
                            "window_end": _text(form, "window_end"), "stops": stops}
    if (minutes := _text(form, "visit_minutes")):
        if not minutes.isdigit():
            raise ValueError("Minutes per visit: enter a whole number.")
        body["visit_minutes"] = int(minutes)
    start_listing = _text(form, "start_listing")
    if start_listing:
        if start_listing not in offered:
            raise ValueError("Start: choose one of the shortlisted listings.")
        row = (await visits_repository.listings_by_id(conn, [UUID(start_listing)])).get(UUID(start_listing))
        if row is None or row.lat is None:
            raise ValueError("Start: that listing has no coordinates.")
        body["start"] = {"lat": row.lat, "lon": row.lon}
    else:
        try:
            body["start"] = {"lat": float(_text(form, "start_lat")), "lon": float(_text(form, "start_lon"))}
        except ValueError:
            raise ValueError("Start: enter a latitude and a longitude, or choose a listing to start from.") from None
    return body


def _problem(exc: Exception, candidates: list[Candidate]) -> tuple[str, int, list[str]]:
    """The message, status and (for an infeasible plan) the listings whose windows cannot be met."""
    if isinstance(exc, Infeasible):
        labels = {str(c.listing_id): c.label for c in candidates}
        named = [f"{labels.get(s['listing_id'], s['listing_id'])}: {s['reason']}"
                 for s in exc.extra.get("infeasible_stops", [])]
        return "These visits cannot all be scheduled in their windows.", 422, named
    if isinstance(exc, SalesError):
        return error_message(exc)[0], exc.status_code, []
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return f"{where}: {first['msg']}", 422, []
    return str(exc), 422, []


async def _planner(request: Request, ctx: Ctx, conn: Conn, pipeline_id: UUID, *, form: Any = None,
                   error: str | None = None, infeasible: list[str] | None = None,
                   status_code: int = 200) -> Response:
    if ctx.role not in PLANNER_ROLES:
        return render(request, "error.html", ctx, status_code=403, title="Not allowed",
                      message="Visit plans are made by the pipeline's RM, their supervisor or an admin.")
    try:
        pipeline = await pipelines_service.get_pipeline(conn, ctx.principal, pipeline_id=pipeline_id)
    except SalesError:
        return render(request, "error.html", ctx, status_code=404, title="Pipeline not found",
                      message="This pipeline does not exist or is not in your scope.")
    candidates = await _candidates(conn, ctx, pipeline_id)
    values = {k: str(v) for k, v in form.items()} if form is not None else {"visit_minutes": "30"}
    chosen = set(form.getlist("stop")) if form is not None else {str(c.listing_id) for c in candidates if c.wanted}
    return render(request, "visit_planner.html", ctx, status_code=status_code, p=pipeline, candidates=candidates,
                  values=values, chosen=chosen, error=error, infeasible=infeasible or [])


@router.get("/pipelines/{pipeline_id}/visit-plans/new", include_in_schema=False)
async def planner(request: Request, pipeline_id: UUID, ctx: Session, conn: Conn) -> Response:
    return await _planner(request, ctx, conn, pipeline_id)


@router.post("/pipelines/{pipeline_id}/visit-plans", include_in_schema=False)
async def create_plan(request: Request, pipeline_id: UUID, ctx: Write, conn: Conn, now: Now) -> Response:
    """POST /pipelines/{id}/visit-plans from the planner form; an infeasible plan names the listings."""
    form = await request.form()
    if ctx.role not in PLANNER_ROLES:
        return await _planner(request, ctx, conn, pipeline_id)
    candidates: list[Candidate] = []
    try:
        candidates = await _candidates(conn, ctx, pipeline_id)
        data = VisitPlanCreate.model_validate(await plan_body(conn, form, candidates))
        plan = await visits_service.create_plan(conn, ctx.principal, pipeline_id=pipeline_id, data=data, now=now)
    except (SalesError, ValidationError, ValueError) as exc:
        if isinstance(exc, SalesError) and exc.status_code == 404:
            return await _planner(request, ctx, conn, pipeline_id)
        message, status, named = _problem(exc, candidates)
        return await _planner(request, ctx, conn, pipeline_id, form=form, error=message, infeasible=named,
                              status_code=status)
    return redirect(f"/console/visit-plans/{plan.id}?saved=created", request)


async def _plan_page(request: Request, ctx: Ctx, conn: Conn, plan_id: UUID, *, error: str | None = None,
                     status_code: int = 200) -> Response:
    try:
        plan = await visits_service.get_plan(conn, ctx.principal, plan_id=plan_id)
    except VisitPlanNotFound:
        return render(request, "error.html", ctx, status_code=404, title="Visit plan not found",
                      message="This visit plan does not exist or is not in your scope.")
    ids = [s.listing_id for s in (*plan.itinerary, *plan.unscheduled)]
    labels = {str(k): v for k, v in (await visits_repository.listing_labels(conn, ids)).items()}
    return render(request, "visit_plan.html", ctx, status_code=status_code, plan=plan, drawing=plot(plan),
                  labels=labels, can_work=ctx.role in PLANNER_ROLES, error=error,
                  saved=request.query_params.get("saved"))


@router.get("/visit-plans/{plan_id}", include_in_schema=False)
async def visit_plan(request: Request, plan_id: UUID, ctx: Session, conn: Conn) -> Response:
    return await _plan_page(request, ctx, conn, plan_id)


async def _plan_write(request: Request, ctx: Ctx, conn: Conn, plan_id: UUID, work: Any, saved: str) -> Response:
    if ctx.role not in PLANNER_ROLES:
        return await _plan_page(request, ctx, conn, plan_id, error="Only the pipeline's RM, their supervisor or "
                                "an admin changes a visit plan.", status_code=403)
    try:
        await work()
    except (SalesError, ValidationError) as exc:
        message, status, named = _problem(exc, [])
        if named:
            message = f"{message} {'; '.join(named)}"
        return await _plan_page(request, ctx, conn, plan_id, error=message, status_code=status)
    return redirect(f"/console/visit-plans/{plan_id}?saved={saved}", request)


@router.post("/visit-plans/{plan_id}/replan", include_in_schema=False)
async def replan(request: Request, plan_id: UUID, ctx: Write, conn: Conn, now: Now) -> Response:
    """POST /visit-plans/{pid}/replan: the stops still to visit laid out again from now."""
    async def work() -> None:
        await visits_service.replan(conn, ctx.principal, plan_id=plan_id, now=now)
    return await _plan_write(request, ctx, conn, plan_id, work, "replanned")


def outcome_body(form: Any) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if (interested := _text(form, "interested")) in ("yes", "no"):
        body["interested"] = interested == "yes"
    if (rating := _text(form, "rating")) in {"1", "2", "3", "4", "5"}:
        body["rating"] = int(rating)
    if (notes := _text(form, "notes")):
        body["notes"] = notes
    return body


@router.post("/visit-plans/{plan_id}/stops/{stop_id}", include_in_schema=False)
async def record_outcome(request: Request, plan_id: UUID, stop_id: UUID, ctx: Write, conn: Conn,
                         now: Now) -> Response:
    """PATCH /visit-plans/{pid}/stops/{sid}: the visited stop's outcome (interested, rating, notes)."""
    form = await request.form()

    async def work() -> None:
        data = StopOutcome.model_validate(outcome_body(form))
        await visits_service.record_outcome(conn, ctx.principal, plan_id=plan_id, stop_id=stop_id, data=data, now=now)
    return await _plan_write(request, ctx, conn, plan_id, work, "outcome")


@router.post("/tasks/{task_id}/done", include_in_schema=False)
async def task_done(request: Request, task_id: UUID, ctx: Write, conn: Conn, now: Now) -> Response:
    """PATCH /tasks/{id} {status: DONE} from the desk's task list."""
    if ctx.role not in PLANNER_ROLES:  # as TasksAccess
        return render(request, "error.html", ctx, status_code=403, title="Not allowed",
                      message="Tasks are worked by RMs, supervisors and admins.")
    try:
        await tasks_service.close_task(conn, ctx.principal, task_id=task_id,
                                       data=TaskUpdate(status=ClosingStatus.DONE), now=now)
    except SalesError as exc:
        return render(request, "error.html", ctx, status_code=exc.status_code, title="Task not changed",
                      message=error_message(exc)[0])
    return redirect("/console/?task=done#tasks", request)
