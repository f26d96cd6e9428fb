"""/api/v1/sales: requirements, suggestions, shortlists and shares of a pipeline (issue 14)."""
from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Query, Request

from sales.core.fields import bounded_query_integer
from sales.core.http import Conn, Now, make_router, respond
from sales.core.openapi import problem_response
from sales.journey import service, shortlists
from sales.journey.permissions import JourneyWork
from sales.journey.schemas import (PipelineFeedback, RequirementsHistory, RequirementsRead, RequirementsWrite,
                                   ShareCreate, ShareRead, ShortlistCreate, ShortlistRead, ShortlistUpdate,
                                   ShortlistVersion, Suggestions)

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


@router.post("/pipelines/{pipeline_id}/shortlists", status_code=201, response_model=ShortlistRead,
             responses={404: problem_response("Pipeline not found"),
                        409: problem_response("Pipeline closed, or suggestions asked for without requirements")})
async def create_shortlist(pipeline_id: UUID, data: ShortlistCreate, principal: JourneyWork, conn: Conn, now: Now):
    """A draft shortlist from the top suggestions and/or manual listings (flagged `manual`)."""
    return respond(await shortlists.create_shortlist(conn, principal, pipeline_id=pipeline_id, data=data, now=now),
                   201)


@router.get("/pipelines/{pipeline_id}/shortlists", response_model=list[ShortlistRead],
            responses={404: problem_response("Pipeline not found")})
async def list_shortlists(pipeline_id: UUID, principal: JourneyWork, conn: Conn):
    """The pipeline's shortlists, newest first, each with the customer's feedback."""
    return respond(await shortlists.list_shortlists(conn, principal, pipeline_id=pipeline_id))


@router.get("/pipelines/{pipeline_id}/feedback", response_model=PipelineFeedback,
            responses={404: problem_response("Pipeline not found")})
async def pipeline_feedback(pipeline_id: UUID, principal: JourneyWork, conn: Conn):
    """The customer's reactions on the pipeline's shortlists and the visit planner's order."""
    return respond(await shortlists.pipeline_feedback(conn, principal, pipeline_id=pipeline_id))


@router.get("/shortlists/{shortlist_id}", response_model=ShortlistRead,
            responses={404: problem_response("Shortlist not found")})
async def get_shortlist(shortlist_id: UUID, principal: JourneyWork, conn: Conn):
    """One shortlist with its items, explanations and the customer's feedback."""
    return respond(await shortlists.get_shortlist(conn, principal, shortlist_id=shortlist_id))


@router.patch("/shortlists/{shortlist_id}", response_model=ShortlistRead,
              responses={404: problem_response("Shortlist not found"),
                         409: problem_response("Pipeline closed, or the shortlist changed meanwhile")})
async def update_shortlist(shortlist_id: UUID, data: ShortlistUpdate, principal: JourneyWork, conn: Conn, now: Now):
    """Add, remove, reorder, notes; once shared every change is a new version with its diff."""
    return respond(await shortlists.update_shortlist(conn, principal, shortlist_id=shortlist_id, data=data, now=now))


@router.get("/shortlists/{shortlist_id}/versions", response_model=list[ShortlistVersion],
            responses={404: problem_response("Shortlist not found")})
async def shortlist_versions(shortlist_id: UUID, principal: JourneyWork, conn: Conn):
    """Frozen versions (from the first share on), newest first, each with its diff to the previous one."""
    return respond(await shortlists.shortlist_versions(conn, principal, shortlist_id=shortlist_id))


@router.post("/shortlists/{shortlist_id}/share", status_code=201, response_model=ShareRead,
             responses={404: problem_response("Shortlist not found"),
                        409: problem_response("Empty shortlist (`shortlist_empty`) or pipeline closed")})
async def share_shortlist(shortlist_id: UUID, data: ShareCreate, principal: JourneyWork, conn: Conn, now: Now,
                          request: Request):
    """A new unguessable link (default 14 days), the message through notify, pipeline to SHORTLIST_SENT."""
    return respond(await shortlists.share(conn, principal, shortlist_id=shortlist_id, data=data,
                                          base_url=str(request.base_url), now=now), 201)
