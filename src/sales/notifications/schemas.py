"""What a notification request holds and what `notify` answers."""
from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, ConfigDict

from sales.core.fields import JSONObject, bounded_text
from sales.notifications.enums import Channel, NotificationStatus, RecipientType

Template = bounded_text(100, min_length=1, pattern=r"^[a-z][a-z0-9_.]*$")
DedupeKey = bounded_text(200, min_length=1)


class NotificationRequest(BaseModel):
    """The validated input of `notify` (a bug in a caller fails loudly here, before anything is written)."""

    model_config = ConfigDict(extra="forbid")
    recipient_type: RecipientType
    recipient_id: UUID | None
    team_id: UUID | None = None
    template: Template
    data: JSONObject
    dedupe_key: DedupeKey
    transactional: bool
    channel: Channel | None = None


class NotificationOutcome(BaseModel):
    """REQUESTED (event written), SUPPRESSED (nothing sent, `reason` says why) or DUPLICATE (key used before)."""

    notification_id: UUID
    status: NotificationStatus
    channel: Channel | None
    reason: str
    event_id: UUID | None = None

    @property
    def sent(self) -> bool:
        return self.status is NotificationStatus.REQUESTED
