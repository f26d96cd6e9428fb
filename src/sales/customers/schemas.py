"""Customer read models: the backfill API contract and the consumed event payloads."""
from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from sales.core.fields import Text, UTCDatetime, bounded_text
from sales.notifications.enums import Channel

# BCP 47 language tag (e.g. "en", "hi-IN").
Language = bounded_text(35, min_length=1, pattern=r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$")
ViewId = bounded_text(128, min_length=1, pattern=r"^[A-Za-z0-9._:-]+$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Event(BaseModel):
    model_config = ConfigDict(extra="ignore")  # upstream may add fields; consumers ignore what they do not know


class _PreferenceFields(BaseModel):
    """A full snapshot of a user's communication preferences; omitted fields take their defaults."""

    marketing_opt_out: StrictBool
    channels_opted_out: list[Channel] = Field(default=[], max_length=len(Channel))
    preferred_channel: Channel | None = None
    language: Language | None = None

    @field_validator("channels_opted_out")
    @classmethod
    def _dedupe(cls, value: list[Channel]) -> list[Channel]:
        return sorted(set(value), key=list(Channel).index)


class PreferencesWrite(_PreferenceFields, _Strict):
    updated_at: UTCDatetime | None = Field(
        default=None, description="when the values were set upstream; older than the stored ones is 409")


class PreferencesUpdated(_PreferenceFields, _Event):
    """users.preferences.updated"""

    user_id: UUID
    updated_at: UTCDatetime | None = None


class PreferencesRead(BaseModel):
    user_id: UUID
    marketing_opt_out: bool
    channels_opted_out: list[Channel]
    preferred_channel: Channel | None
    language: str | None
    updated_at: datetime


class _ViewFields(BaseModel):
    property_id: UUID
    viewed_at: UTCDatetime
    contacted: StrictBool = False


class ViewCreate(_ViewFields, _Strict):
    id: ViewId | None = Field(default=None, description="the view's id upstream: a retried backfill is a no-op")


class PropertyViewed(_ViewFields, _Event):
    """engagement.property.viewed"""

    user_id: UUID


class ViewRead(BaseModel):
    id: str
    user_id: UUID
    property_id: UUID
    viewed_at: datetime
    contacted: bool


class ActivityCounts(BaseModel):
    """Property views and contacts (views with `contacted`) in [since, until)."""

    since: datetime
    until: datetime
    views: int
    contacts: int
