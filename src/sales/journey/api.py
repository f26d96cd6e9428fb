"""/api/v1/sales: requirements, suggestions, shortlists and shares of a pipeline (issue 14)."""
from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Query

from sales.core.fields import bounded_query_integer
from sales.core.http import Conn, Now, make_router, respond
from sales.core.openapi import problem_response
from sales.journey import service
from sales.journey.permissions import JourneyWork
from sales.journey.schemas import RequirementsHistory, RequirementsRead, RequirementsWrite, Suggestions

router = make_router(tags=["journey"])


@router.get("/pipelines/{pipeline_id}/requirements", response_model=RequirementsRead,
            responses={404: problem_response("Pipeline not found or no requirements yet")})
async def get_requirements(pipeline_id: UUID, principal: JourneyWork, conn: Conn):
    """The pipeline's current requirements (latest version)."""
    return respond(await service.get_requirements(conn, principal, pipeline_id=pipeline_id))


@router.put("/pipelines/{pipeline_id}/requirements", response_model=RequirementsRead,
            responses={404: problem_response("Pipeline not found"),
                       409: problem_response("Pipeline closed, or a concurrent save took the version")})
async def save_requirements(pipeline_id: UUID, data: RequirementsWrite, principal: JourneyWork, conn: Conn, now: Now):
    """Save the requirements as a new version; the first save moves a NEW/CONTACTED pipeline to
    REQUIREMENTS_CAPTURED."""
    return respond(await service.save_requirements(conn, principal, pipeline_id=pipeline_id, data=data, now=now))


@router.get("/pipelines/{pipeline_id}/requirements/history", response_model=RequirementsHistory,
            responses={404: problem_response("Pipeline not found")})
async def requirements_history(pipeline_id: UUID, principal: JourneyWork, conn: Conn):
    """Every version of the requirements, newest first, and the customer's on their other pipelines."""
    return respond(await service.requirements_history(conn, principal, pipeline_id=pipeline_id))


@router.get("/pipelines/{pipeline_id}/suggestions", response_model=Suggestions,
            responses={404: problem_response("Pipeline not found"),
                       409: problem_response("No requirements captured yet")})
async def suggestions(pipeline_id: UUID, principal: JourneyWork, conn: Conn,
                      limit: Annotated[bounded_query_integer(ge=1, le=100), Query()] = 20):
    """AVAILABLE listings matching the requirements, best first, each with its explanation."""
    return respond(await service.suggestions(conn, principal, pipeline_id=pipeline_id, limit=limit))
