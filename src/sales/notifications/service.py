"""notify(): the one way the service asks Communications to tell somebody something (PRD §5.2).

The decision (channel or why nothing is sent) is stored once per dedupe key; when a channel is chosen,
`sales.notification.requested` is written to the outbox in the caller's transaction. Never commits.
"""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from sales.core import outbox
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
    notification_id = uuid.uuid4()
    status = NotificationStatus.REQUESTED if decision.sends else NotificationStatus.SUPPRESSED
    stored = await repository.insert_if_new(conn, {
        "id": notification_id, "dedupe_key": request.dedupe_key, "recipient_type": request.recipient_type.value,
        "recipient_id": request.recipient_id, "team_id": request.team_id,
        "channel": decision.channel.value if decision.channel else None, "template": request.template,
        "transactional": request.transactional, "status": status.value, "reason": decision.reason,
        "data": request.data, "created_at": now})
    if not stored:  # the key was used before (or by a concurrent transaction, which committed first)
        return _duplicate(await repository.by_dedupe_key(conn, request.dedupe_key))
    event_id = None
    if decision.sends:
        recipient: dict[str, Any] = {"type": request.recipient_type, "id": request.recipient_id}
        if request.team_id is not None:
            recipient["team_id"] = request.team_id
        event_id = await outbox.record(conn, type_=EVENT_TYPE, subject=notification_id, at=now, data={
            "notification_id": notification_id, "recipient": recipient, "channel": decision.channel,
            "template": request.template, "data": request.data, "dedupe_key": request.dedupe_key,
            "transactional": request.transactional})
    return NotificationOutcome(notification_id=notification_id, status=status, channel=decision.channel,
                               reason=decision.reason, event_id=event_id)


def _duplicate(row: Any) -> NotificationOutcome:
    return NotificationOutcome(notification_id=row.id, status=NotificationStatus.DUPLICATE,
                               channel=Channel(row.channel) if row.channel else None,
                               reason=f"DUPLICATE of {row.status}: {row.reason}")


async def sent_to(conn: AsyncConnection, *, recipient_id: UUID, limit: int = 50) -> list[Any]:
    """What was asked to be told to one recipient (template, channel, status, when), newest first."""
    return await repository.sent_to(conn, recipient_id, limit=limit)
