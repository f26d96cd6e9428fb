"""The RM's desk: live lead queue, pipeline board by stage, pipeline detail."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Form, Request
from pydantic import ValidationError
from starlette.responses import Response

from sales.allocation import reads as allocation_reads, service as allocation_service
from sales.console.web import Ctx, Session, Write, is_htmx, redirect, render, roles
from sales.core.auth import Role
from sales.core.errors import SalesError
from sales.core.http import Conn, Now
from sales.customers import context as customer_context
from sales.customers.errors import CustomerNotFound
from sales.pipelines import service as pipelines_service
from sales.pipelines.enums import Stage
from sales.pipelines.schemas import PipelineUpdate, StageChange
from sales.tasks import service as tasks_service
from sales.visits import service as visits_service

router = APIRouter()
TASKS_ON_DESK = 20  # the RM's open tasks, soonest due first (overdue ones first of all)
RMOnly = Annotated[Ctx, Depends(roles(Role.RM))]
OPEN_LIMIT = 300       # open pipelines shown on the board (an RM carries ~250 at PRD scale)
CLOSED_LIMIT = 10      # most recent won / lost cards shown
COLUMN_LIMIT = 60      # cards rendered per column before "+N more"


_FIELD_WORDS = {"loss_reason": "a loss reason", "deal_value": "the final deal value", "reason": "a reason",
                "to_rm_id": "the target RM"}


def error_message(exc: SalesError) -> tuple[str, str | None]:
    """A person-readable message and the field it is about (from a 422's errors list)."""
    errors = exc.extra.get("errors") or []
    fld = None
    if errors:
        loc = [p for p in errors[0].get("loc", []) if p not in ("body", "query")]
        fld = str(loc[-1]) if loc else None
    detail = exc.detail
    for name, words in _FIELD_WORDS.items():
        if detail.startswith(name + " "):
            detail = words + detail[len(name):]
    if detail and detail[:1].islower():
        detail = detail[0].upper() + detail[1:]
    return detail, fld


# --- home --------------------------------------------------------------------------------------

@router.get("", include_in_schema=False)
@router.get("/", include_in_schema=False)
async def home(request: Request, ctx: Session, conn: Conn, now: Now) -> Response:
    if ctx.role is Role.RM:
        return await _desk_page(request, ctx, conn, now)
    if ctx.supervising:
        return redirect("/console/team", request)
    return redirect("/console/overview", request)


async def _desk_page(request: Request, ctx: Ctx, conn: Conn, now: Any, *, errors: dict[str, Any] | None = None,
                     status_code: int = 200) -> Response:
    queue = await _queue(conn, ctx, now)
    board = await _board(conn, ctx, now)
    tasks = await tasks_service.list_tasks(conn, ctx.principal, now=now, limit=TASKS_ON_DESK, cursor=None,
                                           filters={"rm_id": ctx.principal.sub, "status": "OPEN"})
    return render(request, "desk.html", ctx, status_code=status_code, queue=queue, board=board,
                  errors=errors or {}, queue_errors={}, typed={}, tasks=tasks[:TASKS_ON_DESK])


# --- queue -------------------------------------------------------------------------------------

async def _queue(conn: Conn, ctx: Ctx, now: Any) -> list[Any]:
    return list(await allocation_reads.rm_queue(conn, ctx.principal, rm_id=ctx.principal.sub, now=now))


async def _queue_partial(request: Request, ctx: Ctx, conn: Conn, now: Any, *, status_code: int = 200,
                         queue_errors: dict[str, str] | None = None, typed: dict[str, str] | None = None,
                         flash: tuple[str, str] | None = None, refresh_board: bool = False) -> Response:
    queue = await _queue(conn, ctx, now)
    headers = {"HX-Trigger": "board-refresh"} if refresh_board else None
    return render(request, "_queue.html", ctx, status_code=status_code, headers=headers, queue=queue,
                  queue_errors=queue_errors or {}, typed=typed or {}, flash=flash)


@router.get("/desk/queue", include_in_schema=False)
async def queue_partial(request: Request, ctx: RMOnly, conn: Conn, now: Now) -> Response:
    return await _queue_partial(request, ctx, conn, now)


@router.post("/allocations/{allocation_id}/accept", include_in_schema=False)
async def accept(request: Request, allocation_id: UUID, ctx: Write, conn: Conn, now: Now) -> Response:
    try:
        await allocation_service.accept(conn, ctx.principal, allocation_id=allocation_id, now=now)
    except SalesError as exc:
        message, _ = error_message(exc)
        return await _after_queue_action(request, ctx, conn, now, status_code=exc.status_code,
                                         queue_errors={str(allocation_id): message})
    return await _after_queue_action(request, ctx, conn, now, flash=("ok", "Lead accepted."), refresh_board=True)


@router.post("/allocations/{allocation_id}/reject", include_in_schema=False)
async def reject(request: Request, allocation_id: UUID, ctx: Write, conn: Conn, now: Now,
                 reason: Annotated[str, Form(max_length=1000)] = "") -> Response:
    key = str(allocation_id)
    if not reason.strip():
        return await _after_queue_action(request, ctx, conn, now, status_code=422,
                                         queue_errors={key: "Give a reason for rejecting this lead."})
    try:
        await allocation_service.reject(conn, ctx.principal, allocation_id=allocation_id, reason=reason.strip(),
                                          now=now)
    except SalesError as exc:
        message, _ = error_message(exc)
        return await _after_queue_action(request, ctx, conn, now, status_code=exc.status_code,
                                         queue_errors={key: message}, typed={key: reason})
    return await _after_queue_action(request, ctx, conn, now, flash=("ok", "Lead rejected; it is being reallocated."),
                                     refresh_board=True)


async def _after_queue_action(request: Request, ctx: Ctx, conn: Conn, now: Any, *, status_code: int = 200,
                              queue_errors: dict[str, str] | None = None, typed: dict[str, str] | None = None,
                              flash: tuple[str, str] | None = None, refresh_board: bool = False) -> Response:
    if is_htmx(request):
        return await _queue_partial(request, ctx, conn, now, status_code=status_code, queue_errors=queue_errors,
                                    typed=typed, flash=flash, refresh_board=refresh_board)
    if status_code >= 400:
        queue, board = await _queue(conn, ctx, now), await _board(conn, ctx, now)
        return render(request, "desk.html", ctx, status_code=status_code, queue=queue, board=board, errors={},
                      queue_errors=queue_errors or {}, typed=typed or {})
    return redirect("/console", request)


# --- board -------------------------------------------------------------------------------------

@dataclass
class Column:
    stage: Stage
    cards: list[Any] = field(default_factory=list)
    total: int = 0
    value: Decimal = Decimal("0")


async def _board(conn: Conn, ctx: Ctx, now: Any) -> list[Column]:
    principal, rm_id = ctx.principal, ctx.principal.sub
    open_ = await pipelines_service.list_pipelines(conn, principal, filters={"rm_id": rm_id, "outcome": "PENDING"},
                                                   limit=OPEN_LIMIT, cursor=None)
    won = await pipelines_service.list_pipelines(conn, principal, filters={"rm_id": rm_id, "outcome": "WON"},
                                                 limit=CLOSED_LIMIT, cursor=None)
    lost = await pipelines_service.list_pipelines(conn, principal, filters={"rm_id": rm_id, "outcome": "LOST"},
                                                  limit=CLOSED_LIMIT, cursor=None)
    columns = {stage: Column(stage) for stage in Stage}
    for p in [*open_[:OPEN_LIMIT], *won[:CLOSED_LIMIT], *lost[:CLOSED_LIMIT]]:
        col = columns[p.stage]
        col.total += 1
        col.value += p.deal_value or 0
        if len(col.cards) < COLUMN_LIMIT:
            col.cards.append(p)
    for col in columns.values():  # oldest in stage first: the ones needing attention
        col.cards.sort(key=lambda p: p.stage_changed_at)
    return list(columns.values())


async def _board_partial(request: Request, ctx: Ctx, conn: Conn, now: Any, *, errors: dict[str, Any] | None = None,
                         status_code: int = 200, flash: tuple[str, str] | None = None) -> Response:
    return render(request, "_board.html", ctx, status_code=status_code, board=await _board(conn, ctx, now),
                  errors=errors or {}, flash=flash)


@router.get("/desk/board", include_in_schema=False)
async def board_partial(request: Request, ctx: RMOnly, conn: Conn, now: Now) -> Response:
    return await _board_partial(request, ctx, conn, now)


def _stage_change(stage: str, reason: str, loss_reason: str, deal_value: str) -> StageChange:
    # Digit grouping and the rupee sign are how people type amounts; the rest is the API's money rule.
    amount = deal_value.strip().replace(",", "").replace("₹", "") or None
    try:
        return StageChange(stage=stage, reason=reason.strip() or None, loss_reason=loss_reason.strip() or None,
                           deal_value=amount)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "stage"
        if field == "deal_value":
            raise _FormError(field, "Enter the deal value as a number, e.g. 2500000.") from None
        raise _FormError(field, first["msg"]) from None


class _FormError(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


@router.post("/pipelines/{pipeline_id}/stage", include_in_schema=False)
async def move(request: Request, pipeline_id: UUID, ctx: Write, conn: Conn, now: Now,
               stage: Annotated[str, Form()] = "", reason: Annotated[str, Form(max_length=1000)] = "",
               loss_reason: Annotated[str, Form(max_length=1000)] = "",
               deal_value: Annotated[str, Form(max_length=32)] = "",
               back: Annotated[str, Form()] = "board") -> Response:
    """Move a card: the same stage change as PATCH /pipelines/{id}/stage; its errors are shown on the card."""
    typed = {"stage": stage, "reason": reason, "loss_reason": loss_reason, "deal_value": deal_value}
    try:
        change = _stage_change(stage, reason, loss_reason, deal_value)
        moved = await pipelines_service.change_stage(conn, ctx.principal, pipeline_id=pipeline_id, change=change,
                                                     now=now)
    except _FormError as exc:
        error, status_code = {"message": exc.message, "field": exc.field, **typed}, 422
    except SalesError as exc:
        message, fld = error_message(exc)
        error, status_code = {"message": message, "field": fld, **typed}, exc.status_code
    else:
        if back == "detail":
            return redirect(f"/console/pipelines/{pipeline_id}", request)
        if is_htmx(request):
            return await _board_partial(request, ctx, conn, now,
                                        flash=("ok", f"Moved to {moved.stage.value.replace('_', ' ').lower()}."))
        return redirect("/console", request)
    if back == "detail" or ctx.role is not Role.RM:
        return await detail_page(request, ctx, conn, now, pipeline_id, stage_error=error, status_code=status_code)
    if is_htmx(request):
        return await _board_partial(request, ctx, conn, now, errors={str(pipeline_id): error}, status_code=status_code)
    return await _desk_page(request, ctx, conn, now, errors={str(pipeline_id): error}, status_code=status_code)


# --- pipeline detail ---------------------------------------------------------------------------

async def detail_page(request: Request, ctx: Ctx, conn: Conn, now: Any, pipeline_id: UUID, *,
                      stage_error: dict[str, Any] | None = None, notes_error: str | None = None,
                      typed_notes: str | None = None, saved: bool = False, status_code: int = 200,
                      journey_error: str | None = None, share_url: str | None = None) -> Response:
    """The pipeline page; its journey panel (issue 14) for the roles that work pipelines."""
    from sales.console import pages_journey
    pipeline = await pipelines_service.get_pipeline(conn, ctx.principal, pipeline_id=pipeline_id)
    history, _ = await pipelines_service.stage_history(conn, ctx.principal, pipeline_id=pipeline_id, limit=200,
                                                       cursor=None)
    # Whoever may read it and works pipelines may change it (a supervisor only reads their teams').
    can_work = ctx.principal.is_admin or pipeline.rm_id == ctx.principal.sub or ctx.role is Role.SUPERVISOR
    visit_plans = await visits_service.plans_of_pipeline(conn, ctx.principal, pipeline_id=pipeline_id)
    return render(request, "pipeline.html", ctx, status_code=status_code, p=pipeline, history=history,
                  visit_plans=visit_plans,
                  stage_error=stage_error, notes_error=notes_error, saved=saved, can_work=can_work,
                  notes=typed_notes if typed_notes is not None else (pipeline.notes or ""),
                  stages=list(Stage), now=now, customer=await _customer_context(conn, ctx, pipeline, now),
                  journey=await pages_journey.panel(conn, ctx, pipeline_id), journey_error=journey_error,
                  share_url=share_url, journey_saved=request.query_params.get("journey"))


async def _customer_context(conn: Conn, ctx: Ctx, pipeline: Any, now: Any) -> Any:
    """The customer panel (issue 10 §3): the API's use case with the session's principal; none when the lead
    names no customer account (or, defensively, when the caller may not read it)."""
    if pipeline.customer is None or pipeline.customer.id is None:
        return None
    try:
        return await customer_context.get_context(conn, ctx.principal, user_id=pipeline.customer.id, now=now)
    except CustomerNotFound:
        return None


@router.get("/pipelines/{pipeline_id}", include_in_schema=False)
async def detail(request: Request, pipeline_id: UUID, ctx: Session, conn: Conn, now: Now) -> Response:
    try:
        return await detail_page(request, ctx, conn, now, pipeline_id, saved=request.query_params.get("saved") == "1")
    except SalesError as exc:
        return render(request, "error.html", ctx, status_code=exc.status_code, title="Pipeline not found",
                      message="This pipeline does not exist or is not in your scope.")


@router.post("/pipelines/{pipeline_id}/notes", include_in_schema=False)
async def save_notes(request: Request, pipeline_id: UUID, ctx: Write, conn: Conn, now: Now,
                     notes: Annotated[str, Form(max_length=20000)] = "") -> Response:
    try:
        await pipelines_service.update_pipeline(conn, ctx.principal, pipeline_id=pipeline_id,
                                                data=PipelineUpdate(notes=notes), now=now)
    except (SalesError, ValueError) as exc:
        message = error_message(exc)[0] if isinstance(exc, SalesError) else "Notes are too long (10,000 characters at most)."
        return await detail_page(request, ctx, conn, now, pipeline_id, notes_error=message, typed_notes=notes,
                                  status_code=getattr(exc, "status_code", 422))
    return redirect(f"/console/pipelines/{pipeline_id}?saved=1", request)
