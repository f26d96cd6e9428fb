"""/api/v1/sales/pipelines (PRD §7.2)."""
from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Depends

from sales.core.fields import Date, UTCDatetime
from sales.core.http import CityFilter, Conn, Now, Page, Paging, encode_cursor, make_router, respond
from sales.pipelines import service
from sales.pipelines.enums import Outcome, Source, Stage
from sales.pipelines.permissions import PipelinesCreate, PipelinesRead, PipelinesWrite
from sales.pipelines.schemas import (PipelineCreate, PipelineRead, PipelineStats, PipelineUpdate, StageChange,
                                     StageHistoryEntry)

router = make_router(tags=["pipelines"])


async def pipeline_filters(rm_id: UUID | None = None, team_id: UUID | None = None, city: CityFilter = None,
                     stage: Stage | None = None, outcome: Outcome | None = None, source: Source | None = None,
                     created_from: UTCDatetime | None = None, created_to: UTCDatetime | None = None,
                     expected_close_from: Date | None = None, expected_close_to: Date | None = None) -> dict:
    return {"rm_id": rm_id, "team_id": team_id, "city": city, "stage": stage.value if stage else None,
            "outcome": outcome.value if outcome else None, "source": source.value if source else None,
            "created_from": created_from, "created_to": created_to,
            "expected_close_from": expected_close_from, "expected_close_to": expected_close_to}


Filters = Annotated[dict, Depends(pipeline_filters)]


@router.post("", status_code=201, response_model=PipelineRead)
async def create_pipeline(data: PipelineCreate, principal: PipelinesCreate, conn: Conn, now: Now):
    """Open a pipeline at stage NEW."""
    return respond(await service.create_pipeline(conn, principal, data=data, now=now), 201)


@router.get("", response_model=Page[PipelineRead])
async def list_pipelines(principal: PipelinesRead, conn: Conn, paging: Paging, filters: Filters):
    """Pipelines in the caller's scope, newest first."""
    return respond(await service.list_page(conn, principal, filters=filters, limit=paging.limit,
                                           cursor=paging.cursor))


@router.get("/stats", response_model=PipelineStats)
async def pipeline_stats(principal: PipelinesRead, conn: Conn, now: Now, filters: Filters):
    """Pipeline statistics for the caller's scope."""
    return respond(await service.pipeline_stats(conn, principal, filters=filters, today=now.date()))


@router.get("/{pipeline_id}", response_model=PipelineRead)
async def get_pipeline(pipeline_id: UUID, principal: PipelinesRead, conn: Conn):
    """One pipeline with its customer and RM."""
    return respond(await service.read_pipeline(conn, principal, pipeline_id=pipeline_id))


@router.put("/{pipeline_id}", response_model=PipelineRead)
async def update_pipeline(pipeline_id: UUID, data: PipelineUpdate, principal: PipelinesWrite, conn: Conn, now: Now):
    """Change value, probability, expected close date, source or notes."""
    return respond(await service.update_pipeline(conn, principal, pipeline_id=pipeline_id, data=data, now=now))


@router.patch("/{pipeline_id}/stage", response_model=PipelineRead)
async def change_stage(pipeline_id: UUID, change: StageChange, principal: PipelinesWrite, conn: Conn, now: Now):
    """Move a pipeline to another stage."""
    return respond(await service.change_stage(conn, principal, pipeline_id=pipeline_id, change=change, now=now,
                                              wire=True))


@router.get("/{pipeline_id}/history", response_model=Page[StageHistoryEntry])
async def stage_history(pipeline_id: UUID, principal: PipelinesRead, conn: Conn, paging: Paging):
    """Stage changes, oldest first."""
    entries, last_seq = await service.stage_history(conn, principal, pipeline_id=pipeline_id, limit=paging.limit,
                                                    cursor=paging.cursor)
    return respond({"items": entries, "next_cursor": encode_cursor(last_seq) if last_seq is not None else None})
