"""Follow-up task use cases (issue 15). Never commits."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from sales.core import audit
from sales.core.auth import Principal
from sales.core.errors import Forbidden, InvalidInput
from sales.core.http import AFTER_TIME_AND_ID, cursor_after
from sales.directory import repository as directory_repository
from sales.pipelines.repository import get as get_pipeline, readable as readable_pipelines
from sales.tasks import repository
from sales.tasks.enums import TaskSource, TaskStatus, TaskType
from sales.tasks.errors import TaskClosed, TaskNotFound
from sales.tasks.schemas import TaskCreate, TaskRead, TaskUpdate


def to_read(row: Any, now: datetime) -> TaskRead:
    return TaskRead(id=row.id, type=row.type, status=row.status, pipeline_id=row.pipeline_id, rm_id=row.rm_id,
                    due_at=row.due_at, notes=row.notes, source=row.source,
                    overdue=row.status == TaskStatus.OPEN and row.due_at < now, created_by=row.created_by,
                    created_at=row.created_at, updated_at=row.updated_at, closed_at=row.closed_at)


def cursor_of(task: TaskRead) -> tuple[Any, ...]:
    return task.due_at.isoformat(), task.id


async def create_automatic(conn: AsyncConnection, *, type_: TaskType, rm_id: UUID, pipeline_id: UUID | None,
                           due_at: datetime, source: TaskSource, source_key: str, notes: str | None,
                           now: datetime) -> bool:
    """A task the service makes itself, once per `source_key`; False when it was made before."""
    task_id = uuid.uuid4()
    values = {"id": task_id, "type": type_.value, "status": TaskStatus.OPEN.value, "pipeline_id": pipeline_id,
              "rm_id": rm_id, "due_at": due_at, "notes": notes, "source": source.value, "source_key": source_key,
              "created_by": None, "created_at": now, "updated_at": now}
    if not await repository.insert(conn, values):
        return False
    await audit.record(conn, None, action="task.created", entity_type="task", entity_id=task_id, at=now,
                       after=values)
    return True


async def create_task(conn: AsyncConnection, principal: Principal, *, data: TaskCreate, now: datetime) -> TaskRead:
    """A task for an RM in the caller's scope (an RM: themselves), on a pipeline in scope when given."""
    rm_id = data.rm_id
    if data.pipeline_id is not None:
        pipeline = await get_pipeline(conn, data.pipeline_id, scope=readable_pipelines(principal))
        if pipeline is None:
            raise InvalidInput(("pipeline_id",), f"unknown pipeline {data.pipeline_id}")
        rm_id = rm_id or pipeline.rm_id
    rm_id = rm_id or principal.sub
    rm = await directory_repository.get_rm(conn, rm_id, scope=directory_repository.readable_rms(principal))
    if rm is None:
        raise InvalidInput(("rm_id",), f"unknown RM {rm_id}")
    if not (principal.is_admin or principal.sub == rm.id or principal.supervises(rm.team_id)):
        raise Forbidden("RMs make tasks for themselves and supervisors for their teams")
    task_id = uuid.uuid4()
    values = {"id": task_id, "type": data.type.value, "status": TaskStatus.OPEN.value,
              "pipeline_id": data.pipeline_id, "rm_id": rm_id, "due_at": data.due_at, "notes": data.notes,
              "source": TaskSource.MANUAL.value, "source_key": None, "created_by": principal.sub, "created_at": now,
              "updated_at": now}
    await repository.insert(conn, values)
    await audit.record(conn, principal, action="task.created", entity_type="task", entity_id=task_id, at=now,
                       after=values)
    return to_read(await repository.get(conn, task_id), now)


async def list_tasks(conn: AsyncConnection, principal: Principal, *, filters: dict[str, Any], now: datetime,
                     limit: int, cursor: list[Any] | None) -> list[TaskRead]:
    rows = await repository.list_(conn, scope=repository.readable(principal), filters=filters, now=now, limit=limit,
                                  after=cursor_after(cursor, AFTER_TIME_AND_ID))
    return [to_read(row, now) for row in rows]


async def get_task(conn: AsyncConnection, principal: Principal, *, task_id: UUID, now: datetime) -> TaskRead:
    row = await repository.get(conn, task_id, scope=repository.readable(principal))
    if row is None:
        raise TaskNotFound(f"task {task_id} not found")
    return to_read(row, now)


async def close_task(conn: AsyncConnection, principal: Principal, *, task_id: UUID, data: TaskUpdate,
                     now: datetime) -> TaskRead:
    """OPEN -> DONE or CANCELLED, once (409 when already closed)."""
    before = await get_task(conn, principal, task_id=task_id, now=now)
    values: dict[str, Any] = {"status": data.status.value, "closed_at": now, "updated_at": now}
    if data.notes is not None:
        values["notes"] = data.notes
    if not await repository.close(conn, task_id, values):
        raise TaskClosed(f"task {task_id} is already {before.status if before.status != 'OPEN' else 'closed'}")
    after = await get_task(conn, principal, task_id=task_id, now=now)
    await audit.record(conn, principal, action="task.closed", entity_type="task", entity_id=task_id, at=now,
                       before={"status": before.status}, after={"status": after.status, "notes": after.notes})
    return after


async def create_stale_stage_tasks(conn: AsyncConnection, *, now: datetime, max_age: timedelta) -> int:
    """A CALL task for the RM of each open pipeline that sat in its stage longer than `max_age` (once per stay)."""
    made = 0
    for row in await repository.stale_pipelines(conn, changed_before=now - max_age):
        made += await create_automatic(
            conn, type_=TaskType.CALL, rm_id=row.rm_id, pipeline_id=row.id, due_at=now, source=TaskSource.STAGE_AGE,
            source_key=f"stage-age:{row.id}:{row.stage}:{row.stage_changed_at.isoformat()}",
            notes=f"The pipeline has been at {row.stage} since {row.stage_changed_at.date().isoformat()}", now=now)
    return made
