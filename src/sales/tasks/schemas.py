from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from sales.core.fields import Text, UTCDatetime
from sales.tasks.enums import ClosingStatus, TaskSource, TaskStatus, TaskType

Notes = Annotated[Text, Field(max_length=4000)]


class TaskCreate(BaseModel):
    """POST /tasks: `rm_id` defaults to the pipeline's RM, else to the caller."""

    model_config = ConfigDict(extra="forbid")

    type: TaskType
    due_at: UTCDatetime
    pipeline_id: UUID | None = None
    rm_id: UUID | None = None
    notes: Notes | None = None  # type: ignore[valid-type]


class TaskUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: ClosingStatus
    notes: Notes | None = None  # type: ignore[valid-type]


class TaskRead(BaseModel):
    id: UUID
    type: TaskType
    status: TaskStatus
    pipeline_id: UUID | None
    rm_id: UUID
    due_at: datetime
    notes: str | None
    source: TaskSource
    overdue: bool = Field(description="OPEN and past its due time")
    created_by: UUID | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
