"""Operations endpoints: the test clock, running jobs now, the audit trail."""
from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Path, Query, Request
from sqlalchemy import select

from sales.core import clock
from sales.core.auth import Principal, Role
from sales.core.errors import InvalidInput, NotFound
from sales.core.fields import Text, UTCDatetime
from sales.core.http import AFTER_SEQ, Conn, Page, Paging, cursor_after, make_router, page_of, require, respond
from sales.core.jobs import JOBS, run_slot
from sales.core.openapi import problem_response
from sales.core.tables import audit_log
from sales.admin.schemas import AuditEntry, ClockChange, ClockRead, JobResult, within_clock_range

router = make_router(tags=["admin"])
Admin = Annotated[Principal, Depends(require(Role.SALES_ADMIN))]


async def _test_clock_enabled(request: Request) -> None:
    if request.app.state.settings.is_production:
        raise NotFound("not found")


TestClock = Depends(_test_clock_enabled)
NOT_IN_PRODUCTION = {404: problem_response("The test clock does not exist in production")}


@router.get("/admin/clock", response_model=ClockRead, dependencies=[TestClock], responses=NOT_IN_PRODUCTION)
async def get_clock(request: Request, principal: Admin, conn: Conn):
    """The business clock (frozen once set)."""
    return respond({"now": await clock.business_now(conn, frozen_allowed=True)})


@router.put("/admin/clock", response_model=ClockRead, dependencies=[TestClock], responses=NOT_IN_PRODUCTION)
async def set_clock(change: ClockChange, principal: Admin, conn: Conn):
    """Freeze the business clock at `now`, or move it forward by `advance_seconds`."""
    if change.now is not None:
        return respond({"now": await clock.set_frozen(conn, change.now)})  # UTC, like every timestamp
    try:
        at = await clock.advance(conn, timedelta(seconds=change.advance_seconds or 0), check=within_clock_range)
    except ValueError as exc:
        raise InvalidInput(("advance_seconds",), str(exc)) from None
    return respond({"now": at})


@router.post("/admin/jobs/{job}/run", response_model=JobResult)
async def run_job(job: Annotated[Text, Path(max_length=64)], request: Request, principal: Admin, conn: Conn):
    """Run a periodic job now and report what it did."""
    if job not in JOBS:
        raise NotFound(f"unknown job {job!r}; known: {', '.join(sorted(JOBS)) or 'none'}")
    now = await clock.business_now(conn, frozen_allowed=not request.app.state.settings.is_production)
    result = await run_slot(JOBS[job], conn, now)
    return respond({"job": job, **result})


@router.get("/audit", response_model=Page[AuditEntry])
async def list_audit(principal: Admin, conn: Conn, paging: Paging,
                     entity_type: Annotated[Text | None, Query(max_length=64)] = None,
                     entity_id: Annotated[Text | None, Query(max_length=64)] = None, actor_id: UUID | None = None,
                     from_: Annotated[UTCDatetime | None, Query(alias="from")] = None,
                     to: Annotated[UTCDatetime | None, Query()] = None):
    """The audit trail, newest first."""
    query = select(audit_log)
    if entity_type:
        query = query.where(audit_log.c.entity_type == entity_type)
    if entity_id:
        query = query.where(audit_log.c.entity_id == entity_id)
    if actor_id:
        query = query.where(audit_log.c.actor_id == actor_id)
    if from_:
        query = query.where(audit_log.c.at >= from_)
    if to:
        query = query.where(audit_log.c.at <= to)
    if after := cursor_after(paging.cursor, AFTER_SEQ):
        query = query.where(audit_log.c.seq < after[0])
    rows = (await conn.execute(query.order_by(audit_log.c.seq.desc()).limit(paging.limit + 1))).all()
    entries = [(row.seq, AuditEntry.model_validate(row._mapping)) for row in rows]
    page = page_of(entries, paging.limit, lambda e: (e[0],))
    return respond({"items": [e for _, e in page["items"]], "next_cursor": page["next_cursor"]})
