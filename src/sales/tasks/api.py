"""/api/v1/sales/tasks (issue 15): follow-up tasks of RMs."""
from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Depends

from sales.core.fields import QueryBoolean, UTCDatetime
from sales.core.http import Conn, Now, Page, Paging, make_router, page_of, respond
from sales.core.openapi import problem_response
from sales.tasks import service
from sales.tasks.enums import TaskStatus
from sales.tasks.permissions import TasksAccess
from sales.tasks.schemas import TaskCreate, TaskRead, TaskUpdate

router = make_router(tags=["tasks"])


async def task_filters(rm_id: UUID | None = None, pipeline_id: UUID | None = None, status: TaskStatus | None = None,
                       due_from: UTCDatetime | None = None, due_to: UTCDatetime | None = None,
                       overdue: QueryBoolean | None = None) -> dict:
    return {"rm_id": rm_id, "pipeline_id": pipeline_id, "status": status.value if status else None,
            "due_from": due_from, "due_to": due_to, "overdue": overdue}


Filters = Annotated[dict, Depends(task_filters)]


@router.get("/tasks", response_model=Page[TaskRead])
async def list_tasks(principal: TasksAccess, conn: Conn, now: Now, paging: Paging, filters: Filters):
    """Tasks in the caller's scope (RM: own; SUPERVISOR: teams'; SALES_ADMIN: all), soonest due first; `overdue`
    marks OPEN tasks past their due time."""
    items = await service.list_tasks(conn, principal, filters=filters, now=now, limit=paging.limit,
                                     cursor=paging.cursor)
    return respond(page_of(items, paging.limit, service.cursor_of))


@router.post("/tasks", status_code=201, response_model=TaskRead)
async def create_task(data: TaskCreate, principal: TasksAccess, conn: Conn, now: Now):
    """A CALL | VISIT_FOLLOW_UP | DOCUMENTS | CUSTOM task, due at `due_at`, for an RM (default: the pipeline's)."""
    return respond(await service.create_task(conn, principal, data=data, now=now), 201)


@router.get("/tasks/{task_id}", response_model=TaskRead)
async def get_task(task_id: UUID, principal: TasksAccess, conn: Conn, now: Now):
    return respond(await service.get_task(conn, principal, task_id=task_id, now=now))


@router.patch("/tasks/{task_id}", response_model=TaskRead,
              responses={409: problem_response("The task is already DONE or CANCELLED")})
async def close_task(task_id: UUID, data: TaskUpdate, principal: TasksAccess, conn: Conn, now: Now):
    """Mark an OPEN task DONE or CANCELLED."""
    return respond(await service.close_task(conn, principal, task_id=task_id, data=data, now=now))
