"""Read models of other domains' customer facts (issue 10 §2), fed by their events or the backfill API."""
from __future__ import annotations

from sqlalchemy import Boolean, Column, Index, String, Table

from sales.core.tables import metadata
from sales.core.types import JSONType, UTCDateTime, UUIDType

# users.preferences.updated: one row per user, last write wins by the time the values were set.
customer_preferences = Table(
    "customer_preferences", metadata,
    Column("user_id", UUIDType, primary_key=True),
    Column("marketing_opt_out", Boolean, nullable=False),
    Column("channels_opted_out", JSONType, nullable=False),
    Column("preferred_channel", String(32), nullable=True),
    Column("language", String(35), nullable=True),
    # When the values were set upstream (the event's time), or when they arrived if it carried none.
    Column("updated_at", UTCDateTime, nullable=False),
    Column("source", String(160), nullable=False),  # "event:<id>" or "api"
    Column("received_at", UTCDateTime, nullable=False),
)

# engagement.property.viewed: one row per view; the id makes a redelivered view a no-op.
customer_property_views = Table(
    "customer_property_views", metadata,
    Column("id", String(160), primary_key=True),  # "event:<event id>" or "api:<view id>"
    Column("user_id", UUIDType, nullable=False),
    Column("property_id", UUIDType, nullable=False),
    Column("viewed_at", UTCDateTime, nullable=False),
    Column("contacted", Boolean, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Index("ix_customer_property_views_user", "user_id", "viewed_at"),
)
