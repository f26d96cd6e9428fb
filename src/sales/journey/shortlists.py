"""Shortlist use cases (issue 14 §3-4): build, edit (versioned once shared), share, the customer's page and
their feedback. Never commits."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from sales.core import audit
from sales.core.auth import Principal
from sales.core.errors import InvalidInput
from sales.journey import repository, rules, service, shortlist_rules
from sales.journey.enums import Reaction
from sales.journey.errors import (EmptyShortlist, FeedbackRateLimited, RequirementsMissing, ShareNotFound,
                                  ShortlistChanged, ShortlistNotFound)
from sales.journey.schemas import (CheckRead, FeedbackCreate, FeedbackRead, NotificationSummary, PipelineFeedback,
                                   ShareCreate, ShareRead, ShortlistCreate, ShortlistItem, ShortlistRead,
                                   ShortlistUpdate, ShortlistVersion)
from sales.notifications import service as notifications_service
from sales.notifications.enums import RecipientType
from sales.pipelines import repository as pipelines_repository
from sales.pipelines import service as pipelines_service
from sales.pipelines.enums import Stage
from sales.pipelines.errors import PipelineNotFound
from sales.tasks import service as tasks_service
from sales.tasks.enums import TaskSource, TaskType

SHARE_TEMPLATE = "sales.shortlist.shared"
feedback_limiter = shortlist_rules.SlidingWindow()


def _check_json(check: CheckRead) -> dict[str, Any]:
    return check.model_dump(mode="json")


def _item(listing_id: UUID, *, manual: bool, match: rules.Match | None) -> dict[str, Any]:
    return {"listing_id": str(listing_id), "manual": manual, "note": None,
            "score": match.score if match else None,
            "explanation": [_check_json(c) for c in service.check_reads(match)] if match else []}


async def _explained(conn: AsyncConnection, pipeline_id: UUID, rows: list[Any]) -> dict[UUID, rules.Match]:
    """Each listing's explanation against the current requirements (none captured: no explanation)."""
    try:
        _, req = await service.current_requirements(conn, pipeline_id)
    except RequirementsMissing:  # manual items need no requirements
        return {}
    ctx = await service.matching_context(conn, req)
    return {r.id: rules.explain(service.facts(r), req, ctx) for r in rows}


async def _available(conn: AsyncConnection, ids: list[UUID], field: str) -> list[Any]:
    """The listings, each known and AVAILABLE, else 422 naming `field[n]`."""
    rows = {r.id: r for r in await repository.listings_by_id(conn, ids)}
    for n, listing_id in enumerate(ids):
        row = rows.get(listing_id)
        if row is None:
            raise InvalidInput((field, n), f"listing {listing_id} is unknown")
        if row.status != "AVAILABLE":
            raise InvalidInput((field, n), f"listing {listing_id} is {row.status}, not AVAILABLE")
    return [rows[i] for i in ids]


async def _read(conn: AsyncConnection, row: Any, *, with_feedback: bool = True) -> ShortlistRead:
    listings = {str(r.id): r for r in await repository.listings_by_id(conn, [UUID(i["listing_id"]) for i in row.items])}
    items = [ShortlistItem(**i, listing=service.summary(listings[i["listing_id"]]) if i["listing_id"] in listings
                           else None) for i in row.items]
    fb = [FeedbackRead.model_validate(f._mapping) for f in await repository.feedback_of_shortlist(conn, row.id)] \
        if with_feedback else []
    return ShortlistRead(id=row.id, pipeline_id=row.pipeline_id, title=row.title, notes=row.notes, version=row.version,
                         shared_version=row.shared_version, items=items, created_by=row.created_by,
                         created_at=row.created_at, updated_at=row.updated_at, feedback=fb)


async def _load(conn: AsyncConnection, principal: Principal, shortlist_id: UUID) -> tuple[Any, Any]:
    """The shortlist and its pipeline, if the principal may work the pipeline (else 404)."""
    row = await repository.get_shortlist(conn, shortlist_id)
    if row is None:
        raise ShortlistNotFound(f"shortlist {shortlist_id} not found")
    try:
        pipeline = await service.pipeline_in_scope(conn, principal, row.pipeline_id)
    except PipelineNotFound:  # out of scope reads as an unknown shortlist
        raise ShortlistNotFound(f"shortlist {shortlist_id} not found") from None
    return row, pipeline


async def create_shortlist(conn: AsyncConnection, principal: Principal, *, pipeline_id: UUID,
                           data: ShortlistCreate, now: datetime) -> ShortlistRead:
    """A draft shortlist from the top suggestions and/or manual listings (flagged manual)."""
    pipeline = service.open_pipeline(await service.pipeline_in_scope(conn, principal, pipeline_id))
    items: list[dict[str, Any]] = []
    if data.from_suggestions:
        _, req = await service.current_requirements(conn, pipeline_id)
        for match, _row in await service.suggest(conn, pipeline_id=pipeline_id, req=req, limit=data.from_suggestions):
            items.append(_item(match.listing.id, manual=False, match=match))
    suggested = {i["listing_id"] for i in items}
    manual_ids = list(dict.fromkeys(i for i in data.listing_ids if str(i) not in suggested))
    rows = await _available(conn, manual_ids, "listing_ids")
    explained = await _explained(conn, pipeline_id, rows)
    items += [_item(r.id, manual=True, match=explained.get(r.id)) for r in rows]
    items = [{**i, "position": p} for p, i in enumerate(items, start=1)]
    shortlist_id = uuid.uuid4()
    who = pipeline.customer.name if pipeline.customer else "the customer"
    await repository.insert_shortlist(conn, {
        "id": shortlist_id, "pipeline_id": pipeline.id, "title": data.title or f"Shortlist for {who}",
        "notes": data.notes, "items": items, "version": 1, "shared_version": None, "revision": 1,
        "created_by": principal.sub, "created_at": now, "updated_at": now})
    created = await _read(conn, await repository.get_shortlist(conn, shortlist_id))
    await audit.record(conn, principal, action="shortlist.created", entity_type="shortlist", entity_id=shortlist_id,
                       at=now, after={"pipeline_id": pipeline_id, "items": [i["listing_id"] for i in items]})
    return created


async def list_shortlists(conn: AsyncConnection, principal: Principal, *, pipeline_id: UUID) -> list[ShortlistRead]:
    await service.pipeline_in_scope(conn, principal, pipeline_id)
    return [await _read(conn, r) for r in await repository.shortlists_of(conn, pipeline_id)]


async def get_shortlist(conn: AsyncConnection, principal: Principal, *, shortlist_id: UUID) -> ShortlistRead:
    row, _ = await _load(conn, principal, shortlist_id)
    return await _read(conn, row)


async def _freeze(conn: AsyncConnection, principal: Principal, row: Any, *, version: int, items: list[dict[str, Any]],
                  notes: str | None, now: datetime) -> None:
    """Store `version` as the customer sees it, with its diff against the previous frozen version."""
    previous = await repository.get_version(conn, row.id, version - 1) if version > 1 else None
    change = shortlist_rules.diff(previous.items if previous else [], items,
                                  previous_notes=previous.notes if previous else None, notes=notes)
    if not await repository.insert_version(conn, {"shortlist_id": row.id, "version": version, "items": items,
                                                  "notes": notes, "diff": change, "created_by": principal.sub,
                                                  "created_at": now}):
        raise ShortlistChanged(f"version {version} of shortlist {row.id} was saved meanwhile")


async def update_shortlist(conn: AsyncConnection, principal: Principal, *, shortlist_id: UUID, data: ShortlistUpdate,
                           now: datetime) -> ShortlistRead:
    """Add (manual), remove, reorder, notes; once shared each change is a new version with its diff."""
    row, pipeline = await _load(conn, principal, shortlist_id)
    service.open_pipeline(pipeline)
    added_rows = await _available(conn, list(dict.fromkeys(data.add)), "add")
    explained = await _explained(conn, row.pipeline_id, added_rows)
    items = shortlist_rules.apply_changes(
        row.items, remove=[str(i) for i in data.remove],
        add=[_item(r.id, manual=True, match=explained.get(r.id)) for r in added_rows],
        order=[str(i) for i in data.order] if data.order is not None else None,
        notes={str(n.listing_id): n.note for n in data.item_notes})
    if len(items) > 50:
        raise InvalidInput(("add",), "a shortlist holds at most 50 properties")
    fields = data.model_fields_set
    title = data.title if "title" in fields and data.title else row.title
    notes = data.notes if "notes" in fields else row.notes
    if items == row.items and title == row.title and notes == row.notes:
        return await _read(conn, row)
    version = row.version + 1 if row.shared_version is not None else row.version
    if not await repository.update_shortlist(conn, row.id, seen_revision=row.revision, values={
            "items": items, "title": title, "notes": notes, "version": version, "updated_at": now}):
        raise ShortlistChanged(f"shortlist {row.id} was changed meanwhile; reload and try again")
    if row.shared_version is not None:
        await _freeze(conn, principal, row, version=version, items=items, notes=notes, now=now)
    after = await _read(conn, await repository.get_shortlist(conn, row.id))
    await audit.record(conn, principal, action="shortlist.updated", entity_type="shortlist", entity_id=row.id, at=now,
                       before={"version": row.version, "items": [i["listing_id"] for i in row.items]},
                       after={"version": version, "items": [i["listing_id"] for i in items]})
    return after


async def shortlist_versions(conn: AsyncConnection, principal: Principal, *,
                             shortlist_id: UUID) -> list[ShortlistVersion]:
    row, _ = await _load(conn, principal, shortlist_id)
    return [ShortlistVersion(version=v.version, items=[ShortlistItem(**i) for i in v.items], notes=v.notes,
                             diff=v.diff, created_by=v.created_by, created_at=v.created_at)
            for v in await repository.versions(conn, row.id)]


async def share(conn: AsyncConnection, principal: Principal, *, shortlist_id: UUID, data: ShareCreate,
                base_url: str, now: datetime) -> ShareRead:
    """A fresh unguessable link (expiring), the message through notify, and the pipeline at SHORTLIST_SENT."""
    row, pipeline = await _load(conn, principal, shortlist_id)
    service.open_pipeline(pipeline)
    if not row.items:
        raise EmptyShortlist(f"shortlist {row.id} has no properties to share", extra={"field": "items"})
    if row.shared_version is None:  # the first share freezes version 1
        if not await repository.update_shortlist(conn, row.id, seen_revision=row.revision,
                                                 values={"shared_version": row.version, "updated_at": now}):
            raise ShortlistChanged(f"shortlist {row.id} was changed meanwhile; reload and try again")
        await _freeze(conn, principal, row, version=row.version, items=row.items, notes=row.notes, now=now)
    elif row.shared_version != row.version and not await repository.update_shortlist(
            conn, row.id, seen_revision=row.revision, values={"shared_version": row.version, "updated_at": now}):
        raise ShortlistChanged(f"shortlist {row.id} was changed meanwhile; reload and try again")
    token, share_id = shortlist_rules.new_token(), uuid.uuid4()
    expires_at = now + timedelta(days=data.expires_in_days)
    url = f"{base_url.rstrip('/')}/s/{token}"
    notification = NotificationSummary(status="SUPPRESSED", channel=None, reason="CUSTOMER_UNKNOWN")
    notification_id = None
    if pipeline.customer is not None:
        outcome = await notifications_service.notify(
            conn, recipient_type=RecipientType.CUSTOMER, recipient_id=pipeline.customer.id, template=SHARE_TEMPLATE,
            data={"shortlist_id": str(row.id), "url": url, "expires_at": expires_at.isoformat(),
                  "properties": len(row.items), "rm_name": pipeline.rm.name},
            dedupe_key=f"shortlist.shared:{share_id}", transactional=True, channel=data.channel.value, now=now)
        notification_id = outcome.notification_id
        notification = NotificationSummary(status=outcome.status.value,
                                           channel=outcome.channel.value if outcome.channel else None,
                                           reason=outcome.reason)
    await repository.insert_share(conn, {
        "id": share_id, "shortlist_id": row.id, "token_hash": shortlist_rules.token_hash(token),
        "channel": data.channel.value, "version": row.version, "notification_id": notification_id,
        "created_by": principal.sub, "created_at": now, "expires_at": expires_at})
    await pipelines_service.advance_to(conn, stage=Stage.SHORTLIST_SENT, now=now, actor=principal,
                                       pipeline_id=row.pipeline_id, reason="shortlist shared")
    await audit.record(conn, principal, action="shortlist.shared", entity_type="shortlist", entity_id=row.id, at=now,
                       after={"share_id": share_id, "channel": data.channel, "version": row.version,
                              "expires_at": expires_at})
    return ShareRead(id=share_id, shortlist_id=row.id, version=row.version, channel=data.channel, token=token, url=url,
                     expires_at=expires_at, notification=notification)


async def pipeline_feedback(conn: AsyncConnection, principal: Principal, *, pipeline_id: UUID) -> PipelineFeedback:
    """Every reaction on the pipeline's shortlists; the visit planner's order: want-to-visit first, then liked."""
    await service.pipeline_in_scope(conn, principal, pipeline_id)
    rows = await repository.feedback_of_pipeline(conn, pipeline_id)
    current = service.current_reactions(rows)
    visit = [lid for lid, r in current.items() if r is Reaction.WANT_TO_VISIT]
    visit += [lid for lid, r in current.items() if r is Reaction.LIKE]
    return PipelineFeedback(items=[FeedbackRead.model_validate(r._mapping) for r in rows], visit_candidates=visit)


# --- the customer's page (no sign-in: the share token is the credential) --------------------------------------

@dataclass(frozen=True)
class PublicPage:
    share_id: UUID
    shortlist: ShortlistRead
    reactions: dict[UUID, Reaction]
    expires_at: datetime


async def resolve(conn: AsyncConnection, *, token: str, now: datetime) -> Any:
    """The live share of this token, else ShareNotFound (unknown and expired look the same)."""
    share_row = await repository.share_by_hash(conn, shortlist_rules.token_hash(token)) if len(token) <= 100 else None
    if share_row is None or share_row.expires_at <= now:
        raise ShareNotFound("this shortlist link is unknown or has expired")
    return share_row


async def public_page(conn: AsyncConnection, *, token: str, now: datetime) -> PublicPage:
    share_row = await resolve(conn, token=token, now=now)
    row = await repository.get_shortlist(conn, share_row.shortlist_id)
    shortlist = await _read(conn, row, with_feedback=False)
    reactions = service.current_reactions(await repository.feedback_of_shortlist(conn, row.id))
    return PublicPage(share_row.share_id, shortlist, reactions, share_row.expires_at)


async def leave_feedback(conn: AsyncConnection, *, token: str, data: FeedbackCreate, client: str,
                         now: datetime) -> FeedbackRead:
    """The customer's reaction to one property of the shortlist, stored with the version they saw."""
    share_row = await resolve(conn, token=token, now=now)
    row = await repository.get_shortlist(conn, share_row.shortlist_id)
    if str(data.listing_id) not in {i["listing_id"] for i in row.items}:
        raise InvalidInput(("listing_id",), f"listing {data.listing_id} is not on this shortlist")
    if not feedback_limiter.allow((share_row.share_id, client), now):
        raise FeedbackRateLimited("too many reactions from this address; try again in a few minutes")
    values = {"id": uuid.uuid4(), "shortlist_id": row.id, "pipeline_id": row.pipeline_id,
              "share_id": share_row.share_id, "listing_id": data.listing_id, "version": row.version,
              "reaction": data.reaction.value, "comment": data.comment, "created_at": now}
    await repository.insert_feedback(conn, values)
    stored = FeedbackRead(**{k: values[k] for k in FeedbackRead.model_fields})
    await audit.record(conn, None, action="shortlist.feedback", entity_type="shortlist", entity_id=row.id, at=now,
                       after=stored)
    await _call_back(conn, pipeline_id=row.pipeline_id, share_id=share_row.share_id, now=now)
    return stored


FEEDBACK_CALL_WITHIN = timedelta(hours=4)


async def _call_back(conn: AsyncConnection, *, pipeline_id: UUID, share_id: UUID, now: datetime) -> None:
    """The first reaction to a shared link gives its pipeline's RM a CALL task due within 4 hours (one per link,
    however many reactions follow: the RM reads them all on the pipeline)."""
    pipeline = await pipelines_repository.get(conn, pipeline_id)
    if pipeline is None:  # the shortlist's pipeline cannot vanish short of a broken database
        return
    await tasks_service.create_automatic(
        conn, type_=TaskType.CALL, rm_id=pipeline.rm_id, pipeline_id=pipeline_id, due_at=now + FEEDBACK_CALL_WITHIN,
        source=TaskSource.SHORTLIST_FEEDBACK, source_key=f"shortlist-feedback:{share_id}",
        notes="The customer reacted to the shared shortlist: call them about it", now=now)

