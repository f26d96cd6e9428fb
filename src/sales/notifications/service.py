"""notify(): the one way the service asks Communications to tell somebody something (PRD §5.2).

The decision (channel or why nothing is sent) is stored once per dedupe key; when a channel is chosen,
`sales.notification.requested` is written to the outbox in the caller's transaction. Never commits.
"""
from __future__ import annotations

import functools
import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from sales.core import audit, outbox
from sales.customers import service as customers_service
from sales.notifications import repository, rules
from sales.notifications.enums import Channel, NotificationStatus, RecipientType
from sales.notifications.schemas import NotificationOutcome, NotificationRequest

EVENT_TYPE = "sales.notification.requested"


async def channel_preferences(conn: AsyncConnection, *, user_id: UUID) -> rules.Preferences:
    """A customer's stored preferences as the channel rules read them (none known = no opt-outs)."""
    stored = await customers_service.get_preferences(conn, user_id=user_id)
    if stored is None:
        return rules.Preferences()
    return rules.Preferences(marketing_opt_out=stored.marketing_opt_out,
                             channels_opted_out=frozenset(stored.channels_opted_out),
                             preferred_channel=stored.preferred_channel)


async def notify(conn: AsyncConnection, *, recipient_type: RecipientType | str, recipient_id: UUID | None,
                 template: str, data: dict[str, Any], dedupe_key: str, transactional: bool,
                 channel: Channel | str | None = None, now: datetime, team_id: UUID | None = None
                 ) -> NotificationOutcome:
    """Request one message: choose its channel (UPR-004, UPR-006), or suppress it and say why; the same
    `dedupe_key` never produces a second request. A SUPERVISOR recipient carries `team_id`; its
    `recipient_id` may be None when the team has no supervisor on record."""
    request, decision, values = await _decided(
        conn, recipient_type=recipient_type, recipient_id=recipient_id, template=template, data=data,
        dedupe_key=dedupe_key, transactional=transactional, channel=channel, now=now, team_id=team_id)
    # Not stored: the key was used before (or by a concurrent transaction, which committed first)
    if not await repository.insert_if_new(conn, values):
        return _duplicate(await repository.by_dedupe_key(conn, request.dedupe_key))
    event_id = await _requested(conn, request, decision, values["id"], now=now)
    return NotificationOutcome(notification_id=values["id"], status=NotificationStatus(values["status"]),
                               channel=decision.channel, reason=decision.reason, event_id=event_id)


async def request(conn: AsyncConnection, *, recipient_type: RecipientType | str, recipient_id: UUID | None,
                  template: str, data: dict[str, Any], dedupe_key: str, transactional: bool, now: datetime,
                  team_id: UUID | None = None) -> None:
    """`notify` for a caller that does not read the outcome: inside `audit.deferred(conn, with_events=True)` on
    PostgreSQL the decision and its event are stored with the block's audit rows (`audit.Rider`: one round trip
    fewer); anywhere else at once."""
    request, decision, values = await _decided(
        conn, recipient_type=recipient_type, recipient_id=recipient_id, template=template, data=data,
        dedupe_key=dedupe_key, transactional=transactional, channel=None, now=now, team_id=team_id)
    event = _requested_row(request, decision, values["id"], now=now)
    events = [event] if event else []
    columns = tuple(values)
    if audit.ride(conn, audit.Rider(key=("notifications", columns), params=values, events=events,
                                    build=functools.partial(repository.insert_if_new_statement, True, columns))):
        return
    if await repository.insert_if_new(conn, values):
        await outbox.record_rows(conn, events)


async def _decided(conn: AsyncConnection, *, recipient_type: RecipientType | str, recipient_id: UUID | None,
                   template: str, data: dict[str, Any], dedupe_key: str, transactional: bool,
                   channel: Channel | str | None, now: datetime, team_id: UUID | None
                   ) -> tuple[NotificationRequest, rules.ChannelDecision, dict[str, Any]]:
    """The request checked, its channel chosen, and the row that stores the decision."""
    request = NotificationRequest(recipient_type=recipient_type, recipient_id=recipient_id, team_id=team_id,
                                  template=template, data=data, dedupe_key=dedupe_key,
                                  transactional=transactional, channel=channel)
    if request.recipient_id is None and not (request.recipient_type is RecipientType.SUPERVISOR and request.team_id):
        raise ValueError("a recipient needs an id (a SUPERVISOR at least its team_id)")
    preferences = None
    if request.recipient_type is RecipientType.CUSTOMER:
        preferences = await channel_preferences(conn, user_id=request.recipient_id)  # type: ignore[arg-type]
    decision = rules.choose_channel(recipient_type=request.recipient_type, transactional=request.transactional,
                                    requested=request.channel, preferences=preferences)
    status = NotificationStatus.REQUESTED if decision.sends else NotificationStatus.SUPPRESSED
    return request, decision, {
        "id": uuid.uuid4(), "dedupe_key": request.dedupe_key, "recipient_type": request.recipient_type.value,
        "recipient_id": request.recipient_id, "team_id": request.team_id,
        "channel": decision.channel.value if decision.channel else None, "template": request.template,
        "transactional": request.transactional, "status": status.value, "reason": decision.reason,
        "data": request.data, "created_at": now}


async def _requested(conn: AsyncConnection, request: NotificationRequest, decision: rules.ChannelDecision,
                     notification_id: UUID, *, now: datetime) -> UUID | None:
    """A stored decision that sends: `sales.notification.requested` in the outbox (its event id)."""
    event = _requested_row(request, decision, notification_id, now=now)
    if event is None:
        return None
    await outbox.record_rows(conn, [event])
    return event["id"]


def _requested_row(request: NotificationRequest, decision: rules.ChannelDecision, notification_id: UUID, *,
                   now: datetime) -> dict[str, Any] | None:
    """The `sales.notification.requested` outbox row of a decision that sends; None for one that does not."""
    if not decision.sends:
        return None
    recipient: dict[str, Any] = {"type": request.recipient_type, "id": request.recipient_id}
    if request.team_id is not None:
        recipient["team_id"] = request.team_id
    return outbox.row(type_=EVENT_TYPE, subject=notification_id, at=now, data={
        "notification_id": notification_id, "recipient": recipient, "channel": decision.channel,
        "template": request.template, "data": request.data, "dedupe_key": request.dedupe_key,
        "transactional": request.transactional})


def _duplicate(row: Any) -> NotificationOutcome:
    return NotificationOutcome(notification_id=row.id, status=NotificationStatus.DUPLICATE,
                               channel=Channel(row.channel) if row.channel else None,
                               reason=f"DUPLICATE of {row.status}: {row.reason}")


async def sent_to(conn: AsyncConnection, *, recipient_id: UUID, limit: int = 50) -> list[Any]:
    """What was asked to be told to one recipient (template, channel, status, when), newest first."""
    return await repository.sent_to(conn, recipient_id, limit=limit)
