"""Requirements and suggestions use cases (issue 14 §1-2): load -> rules -> persist -> audit. Never commits."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from sales.core import audit
from sales.core.auth import Principal
from sales.core.errors import NotFound
from sales.journey import repository, rules
from sales.journey.enums import Reaction
from sales.journey.errors import RequirementsChanged, RequirementsMissing
from sales.journey.schemas import (CheckRead, ListingSummary, RequirementsFields, RequirementsHistory,
                                   RequirementsRead, RequirementsWrite, Suggestion, Suggestions)
from sales.pipelines import service as pipelines_service
from sales.pipelines.enums import Stage
from sales.pipelines.errors import PipelineClosed
from sales.pipelines.schemas import PipelineRead

# The SQL pre-filter hands at most this many candidates (best by a coarse pre-rank that mirrors the rules'
# bands) to the exact rules: their Python cost, not the database, sets the service CPU per request.
CANDIDATE_LIMIT = 150


class RequirementsNotFound(NotFound):
    code, title = "requirements_not_found", "No requirements captured yet"


async def pipeline_in_scope(conn: AsyncConnection, principal: Principal, pipeline_id: UUID) -> PipelineRead:
    """The pipeline if the principal may work it (the RM, their supervisor, SALES_ADMIN), else 404."""
    return await pipelines_service.get_pipeline(conn, principal, pipeline_id=pipeline_id)


def open_pipeline(pipeline: PipelineRead) -> PipelineRead:
    if Stage(pipeline.stage).is_closed:
        raise PipelineClosed(f"pipeline is closed at {pipeline.stage}")
    return pipeline


def _read(row: Any) -> RequirementsRead:
    return RequirementsRead(**row.data, pipeline_id=row.pipeline_id, version=row.version, author_id=row.author_id,
                            created_at=row.created_at)


def facts(row: Any) -> rules.ListingFacts:
    return rules.ListingFacts(
        id=row.id, locality=row.locality, lat=row.lat, lon=row.lon, property_type=row.property_type,
        deal_type=row.deal_type, price=row.price, status=row.status, listed_at=row.listed_at, bhk=row.bhk,
        area_sqft=row.area_sqft, furnishing=row.furnishing, amenities=tuple(row.amenities or ()),
        available_from=row.available_from)


def summary(row: Any) -> ListingSummary:
    return ListingSummary(id=row.id, city=row.city, locality=row.locality, property_type=row.property_type,
                          deal_type=row.deal_type, bhk=row.bhk, area_sqft=row.area_sqft, price=row.price,
                          furnishing=row.furnishing, amenities=list(row.amenities or []),
                          available_from=row.available_from, status=row.status)


def check_reads(match: rules.Match) -> list[CheckRead]:
    return [CheckRead(criterion=c.criterion, must=c.must, weight=c.weight, status=c.status, credit=c.credit,
                      detail=c.detail) for c in match.checks]


# --- requirements ------------------------------------------------------------------------------------------------

async def save_requirements(conn: AsyncConnection, principal: Principal, *, pipeline_id: UUID,
                            data: RequirementsWrite, now: datetime) -> RequirementsRead:
    """Store a new version; a NEW/CONTACTED pipeline moves to REQUIREMENTS_CAPTURED (stage history, event, audit)."""
    pipeline = open_pipeline(await pipeline_in_scope(conn, principal, pipeline_id))
    rules.check_requirements(data)
    latest = await repository.latest_requirements(conn, pipeline_id)
    version = latest.version + 1 if latest else 1
    values = {"id": uuid.uuid4(), "pipeline_id": pipeline_id, "version": version,
              "customer_id": pipeline.customer.id if pipeline.customer else None,
              "data": data.model_dump(mode="json"), "author_id": principal.sub, "created_at": now}
    if not await repository.insert_requirements(conn, values):
        raise RequirementsChanged(f"version {version} was saved meanwhile; reload and save again")
    saved = _read(await repository.latest_requirements(conn, pipeline_id))
    if Stage(pipeline.stage) in (Stage.NEW, Stage.CONTACTED):
        await pipelines_service.advance_to(conn, stage=Stage.REQUIREMENTS_CAPTURED, now=now, actor=principal,
                                           pipeline_id=pipeline_id, reason="requirements captured")
    await audit.record(conn, principal, action="requirements.saved", entity_type="pipeline", entity_id=pipeline_id,
                       at=now, before={"version": latest.version} if latest else None,
                       after=saved.model_dump(mode="json"))
    return saved


async def get_requirements(conn: AsyncConnection, principal: Principal, *, pipeline_id: UUID) -> RequirementsRead:
    await pipeline_in_scope(conn, principal, pipeline_id)
    row = await repository.latest_requirements(conn, pipeline_id)
    if row is None:
        raise RequirementsNotFound(f"pipeline {pipeline_id} has no requirements yet")
    return _read(row)


async def requirements_history(conn: AsyncConnection, principal: Principal, *,
                               pipeline_id: UUID) -> RequirementsHistory:
    """Every version of this pipeline's requirements, and the customer's on their other pipelines."""
    pipeline = await pipeline_in_scope(conn, principal, pipeline_id)
    items = [_read(r) for r in await repository.requirement_versions(conn, pipeline_id)]
    others: list[RequirementsRead] = []
    if pipeline.customer is not None:
        others = [_read(r) for r in await repository.customer_requirements(
            conn, pipeline.customer.id, except_pipeline=pipeline_id)]
    return RequirementsHistory(items=items, other_pipelines=others)


# --- suggestions -------------------------------------------------------------------------------------------------

async def current_requirements(conn: AsyncConnection, pipeline_id: UUID) -> tuple[int, RequirementsFields]:
    row = await repository.latest_requirements(conn, pipeline_id)
    if row is None:
        raise RequirementsMissing(f"pipeline {pipeline_id} has no requirements yet: capture them first")
    return row.version, RequirementsFields.model_validate(row.data)


async def matching_context(conn: AsyncConnection, req: RequirementsFields) -> rules.Context:
    centres = await repository.locality_centres(conn, req.localities)
    return rules.Context(centres={r.name: rules.Centre(float(r.lat), float(r.lon)) for r in centres})


def current_reactions(feedback_rows: list[Any]) -> dict[UUID, Reaction]:
    """The newest reaction per listing (rows come newest first)."""
    out: dict[UUID, Reaction] = {}
    for row in feedback_rows:
        out.setdefault(row.listing_id, Reaction(row.reaction))
    return out


async def suggest(conn: AsyncConnection, *, pipeline_id: UUID, req: RequirementsFields,
                  limit: int) -> list[tuple[rules.Match, Any]]:
    """The best `limit` matches with their listing rows, disliked ones and ones like them lower."""
    criteria = rules.effective_criteria(req)
    musts = {c for c, (must, _) in criteria.items() if must}
    nice = {c: w for c, (must, w) in criteria.items() if not must and w}
    rows = await repository.candidates(conn, req, musts=musts, nice=nice, limit=CANDIDATE_LIMIT)
    reactions = current_reactions(await repository.feedback_of_pipeline(conn, pipeline_id))
    disliked_ids = [lid for lid, r in reactions.items() if r is Reaction.DISLIKE]
    disliked = [facts(r) for r in await repository.listings_by_id(conn, disliked_ids)]
    by_id = {r.id: r for r in rows}
    ranked = rules.rank([facts(r) for r in rows], req, ctx=await matching_context(conn, req), disliked=disliked,
                        limit=limit)
    return [(m, by_id[m.listing.id]) for m in ranked]


async def suggestions(conn: AsyncConnection, principal: Principal, *, pipeline_id: UUID,
                      limit: int) -> Suggestions:
    """Explained suggestions for the pipeline's current requirements, best first."""
    await pipeline_in_scope(conn, principal, pipeline_id)
    version, req = await current_requirements(conn, pipeline_id)
    shortlisted = {item["listing_id"] for s in await repository.shortlists_of(conn, pipeline_id)
                   for item in s.items}
    items = [Suggestion(listing=summary(row), score=m.score, adjusted_score=m.adjusted_score,
                        explanation=check_reads(m), feedback=m.feedback, on_shortlist=str(row.id) in shortlisted)
             for m, row in await suggest(conn, pipeline_id=pipeline_id, req=req, limit=limit)]
    return Suggestions(requirements_version=version, items=items)
