"""What a notification request holds and what `notify` answers."""
from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict

from sales.core.fields import Text, no_nul
from sales.notifications.enums import Channel, NotificationStatus, RecipientType

Template = Text(100, pattern=r"^[a-z][a-z0-9_.]*$")
DedupeKey = Text(200)


class NotificationRequest(BaseModel):
    """The validated input of `notify` (a bug in a caller fails loudly here, before anything is written)."""

    model_config = ConfigDict(extra="forbid")
    recipient_type: RecipientType
    recipient_id: UUID | None
    team_id: UUID | None = None
    template: Template
    data: Annotated[dict[str, Any], AfterValidator(no_nul)]
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
