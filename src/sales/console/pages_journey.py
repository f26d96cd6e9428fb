"""The RM's journey panel on the pipeline page (issue 14 §5): requirements form, suggestions with reasons, the
shortlist builder with versions and sharing, and the customer's feedback. The same use cases as the journey
API, in the request's transaction, with the session's principal."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import Response

from sales.console.pages_desk import detail_page, error_message
from sales.console.web import Ctx, Write, redirect
from sales.core.auth import Role
from sales.core.errors import SalesError
from sales.core.http import Conn, Now
from sales.journey import service as journey_service
from sales.journey import shortlists as shortlist_service
from sales.journey.enums import Criterion
from sales.journey.errors import RequirementsMissing
from sales.journey.schemas import (RequirementsWrite, ShareCreate, ShortlistCreate, ShortlistUpdate)

router = APIRouter()
JOURNEY_ROLES = (Role.RM, Role.SUPERVISOR, Role.SALES_ADMIN)
SUGGESTIONS_SHOWN = 10
_INTEGER = re.compile(r"[0-9]{1,9}")
INTEGER_FIELDS = ("bhk_min", "bhk_max", "area_min", "area_max")
DECIMAL_FIELDS = ("lat", "lon", "radius_km")


@dataclass
class Journey:
    requirements: Any = None
    history: Any = None
    suggestions: Any = None
    shortlists: list[Any] = field(default_factory=list)
    versions: dict[str, list[Any]] = field(default_factory=dict)
    feedback: Any = None
    criteria: list[str] = field(default_factory=lambda: [c.value for c in Criterion])


async def panel(conn: Conn, ctx: Ctx, pipeline_id: UUID) -> Journey | None:
    """What the pipeline page shows of the journey (none for roles that do not work pipelines)."""
    if ctx.role not in JOURNEY_ROLES:
        return None
    principal = ctx.principal
    journey = Journey()
    history = await journey_service.requirements_history(conn, principal, pipeline_id=pipeline_id)
    journey.history = history
    journey.requirements = history.items[0] if history.items else None
    if journey.requirements is not None:
        journey.suggestions = await journey_service.suggestions(conn, principal, pipeline_id=pipeline_id,
                                                                limit=SUGGESTIONS_SHOWN)
    journey.shortlists = await shortlist_service.list_shortlists(conn, principal, pipeline_id=pipeline_id)
    for s in journey.shortlists:
        journey.versions[str(s.id)] = await shortlist_service.shortlist_versions(conn, principal, shortlist_id=s.id)
    journey.feedback = await shortlist_service.pipeline_feedback(conn, principal, pipeline_id=pipeline_id)
    return journey


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def requirements_body(form: Any) -> dict[str, Any]:
    """The form's strings as the API's JSON values; a malformed number raises ValueError naming its field."""
    body: dict[str, Any] = {"deal_type": form.get("deal_type") or "RENT"}
    for name in ("property_type", "furnishing", "move_in_by"):
        if (value := str(form.get(name) or "").strip()):
            body[name] = value.upper() if name != "move_in_by" else value
    for name in ("budget_min", "budget_max"):
        if (value := str(form.get(name) or "").replace(",", "").strip()):
            body[name] = value
    for name in INTEGER_FIELDS:
        if (value := str(form.get(name) or "").strip()):
            if not _INTEGER.fullmatch(value):
                raise ValueError(f"{name}: enter a whole number")
            body[name] = int(value)
    body["localities"] = _split(str(form.get("localities") or ""))
    body["amenities"] = [a.upper() for a in _split(str(form.get("amenities") or ""))]
    near: dict[str, Any] = {}
    for name in DECIMAL_FIELDS:
        if (value := str(form.get(f"near_{name}") or "").strip()):
            try:
                near[name] = Decimal(value)
            except InvalidOperation:
                raise ValueError(f"near {name}: enter a number") from None
    if near:
        body["near"] = near
    criteria: dict[str, Any] = {}
    for criterion in Criterion:
        choice = str(form.get(f"criterion_{criterion.value}") or "")
        if choice == "must":
            criteria[criterion.value] = {"must": True}
        elif choice in {"1", "2", "3", "4", "5"}:
            criteria[criterion.value] = {"weight": int(choice)}
    body["criteria"] = criteria
    return body


def _problem(exc: Exception) -> tuple[str, int]:
    if isinstance(exc, SalesError):
        return error_message(exc)[0], exc.status_code
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return f"{where}: {first['msg']}", 422
    return str(exc), 422


async def _back(request: Request, ctx: Ctx, conn: Conn, now: Any, pipeline_id: UUID, exc: Exception) -> Response:
    message, status = _problem(exc)
    return await detail_page(request, ctx, conn, now, pipeline_id, status_code=status, journey_error=message)


def _done(request: Request, pipeline_id: UUID, what: str) -> Response:
    return redirect(f"/console/pipelines/{pipeline_id}?journey={what}#journey", request)


@router.post("/pipelines/{pipeline_id}/requirements", include_in_schema=False)
async def save_requirements(request: Request, pipeline_id: UUID, ctx: Write, conn: Conn, now: Now) -> Response:
    """Save the requirements form as a new version (PUT /pipelines/{id}/requirements)."""
    try:
        data = RequirementsWrite.model_validate(requirements_body(await request.form()))
        await journey_service.save_requirements(conn, ctx.principal, pipeline_id=pipeline_id, data=data, now=now)
    except (SalesError, ValidationError, ValueError) as exc:
        return await _back(request, ctx, conn, now, pipeline_id, exc)
    return _done(request, pipeline_id, "requirements")


@router.post("/pipelines/{pipeline_id}/shortlists", include_in_schema=False)
async def create_shortlist(request: Request, pipeline_id: UUID, ctx: Write, conn: Conn, now: Now) -> Response:
    """A shortlist from the ticked suggestions and typed listing ids."""
    form = await request.form()
    try:
        picked = [UUID(str(v)) for v in form.getlist("listing_id")]
        typed = [UUID(v) for v in _split(str(form.get("listing_ids") or ""))]
        data = ShortlistCreate.model_validate({"title": str(form.get("title") or "").strip() or None,
                                               "listing_ids": list(dict.fromkeys(picked + typed))})
        await shortlist_service.create_shortlist(conn, ctx.principal, pipeline_id=pipeline_id, data=data, now=now)
    except (SalesError, ValidationError, ValueError, RequirementsMissing) as exc:
        return await _back(request, ctx, conn, now, pipeline_id, exc)
    return _done(request, pipeline_id, "shortlist")


def _edit(form: Any, items: list[Any]) -> dict[str, Any]:
    """One builder button as a PATCH body: add, remove, up, down, note, notes."""
    action = str(form.get("action") or "")
    listing = str(form.get("listing_id") or "").strip()
    order = [str(i.listing_id) for i in items]
    if action == "add":
        return {"add": [UUID(listing)]}
    if action == "remove":
        return {"remove": [UUID(listing)]}
    if action in ("up", "down") and listing in order:
        at = order.index(listing)
        to = at - 1 if action == "up" else at + 1
        if 0 <= to < len(order):
            order[at], order[to] = order[to], order[at]
        return {"order": [UUID(x) for x in order]}
    if action == "note":
        return {"item_notes": [{"listing_id": UUID(listing), "note": str(form.get("note") or "").strip() or None}]}
    return {"notes": str(form.get("notes") or "").strip() or None}


@router.post("/shortlists/{shortlist_id}/edit", include_in_schema=False)
async def edit_shortlist(request: Request, shortlist_id: UUID, ctx: Write, conn: Conn, now: Now) -> Response:
    """The builder's buttons, through PATCH /shortlists/{sid} (a new version once shared)."""
    current = await shortlist_service.get_shortlist(conn, ctx.principal, shortlist_id=shortlist_id)
    try:
        data = ShortlistUpdate.model_validate(_edit(await request.form(), current.items))
        await shortlist_service.update_shortlist(conn, ctx.principal, shortlist_id=shortlist_id, data=data, now=now)
    except (SalesError, ValidationError, ValueError) as exc:
        return await _back(request, ctx, conn, now, current.pipeline_id, exc)
    return _done(request, current.pipeline_id, "shortlist")


@router.post("/shortlists/{shortlist_id}/share", include_in_schema=False)
async def share_shortlist(request: Request, shortlist_id: UUID, ctx: Write, conn: Conn, now: Now) -> Response:
    """Share through POST /shortlists/{sid}/share; the link is shown once, on the page that answers."""
    current = await shortlist_service.get_shortlist(conn, ctx.principal, shortlist_id=shortlist_id)
    form = await request.form()
    try:
        data = ShareCreate.model_validate({"channel": str(form.get("channel") or "")})
        shared = await shortlist_service.share(conn, ctx.principal, shortlist_id=shortlist_id, data=data,
                                               base_url=str(request.base_url), now=now)
    except (SalesError, ValidationError) as exc:
        return await _back(request, ctx, conn, now, current.pipeline_id, exc)
    return await detail_page(request, ctx, conn, now, current.pipeline_id, share_url=shared.url)
