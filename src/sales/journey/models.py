"""Requirements versions, shortlists with their frozen versions, share links and customer feedback (issue 14)."""
from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Integer, String, Table, func, text

from sales.core.sealed import SealedJSON, SealedText
from sales.core.tables import metadata
from sales.inventory.models import listings
from sales.core.types import BigIntPK, JSONType, UTCDateTime, UUIDType

# Every save is a new row; (pipeline_id, version) is unique so two racing saves cannot both become version n.
requirements = Table(
    "journey_requirements", metadata,
    Column("id", UUIDType, primary_key=True),
    Column("pipeline_id", UUIDType, ForeignKey("sales_pipelines.id", ondelete="CASCADE"), nullable=False),
    # The lead's customer (platform user id) when the lead is known: the key of "their other pipelines".
    Column("customer_id", UUIDType, nullable=True),
    Column("version", Integer, nullable=False),
    Column("data", SealedJSON, nullable=False),  # the customer's needs and whereabouts (`near`): sealed
    Column("author_id", UUIDType, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("uq_journey_requirements_version", "pipeline_id", "version", unique=True),
    Index("ix_journey_requirements_customer", "customer_id", "created_at"),
)

# The working copy: `items` is the ordered list as the RM edits it; `version` counts the
# customer-visible versions (frozen from the first share on); `shared_version` is the version last shared;
# `revision` counts every change (a conditional UPDATE ... WHERE revision = :seen makes concurrent edits safe).
shortlists = Table(
    "journey_shortlists", metadata,
    Column("id", UUIDType, primary_key=True),
    Column("pipeline_id", UUIDType, ForeignKey("sales_pipelines.id", ondelete="CASCADE"), nullable=False),
    Column("title", SealedText, nullable=False),  # "Shortlist for <customer name>" by default: sealed
    Column("notes", SealedText, nullable=True),
    Column("items", JSONType, nullable=False),
    Column("version", Integer, nullable=False),
    Column("shared_version", Integer, nullable=True),
    Column("revision", Integer, nullable=False),
    Column("created_by", UUIDType, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("version >= 1", name="version_positive"),
    Index("ix_journey_shortlists_pipeline", "pipeline_id", "created_at"),
)

# Frozen versions (from the first share on): the items as the customer saw them and the diff to the previous one.
shortlist_versions = Table(
    "journey_shortlist_versions", metadata,
    Column("shortlist_id", UUIDType, ForeignKey("journey_shortlists.id", ondelete="CASCADE"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("items", JSONType, nullable=False),
    Column("notes", SealedText, nullable=True),
    Column("diff", JSONType, nullable=False),
    Column("created_by", UUIDType, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# Only a hash of the token is stored: the link itself is handed out once, in the share answer and the message.
shares = Table(
    "journey_shares", metadata,
    Column("id", UUIDType, primary_key=True),
    Column("shortlist_id", UUIDType, ForeignKey("journey_shortlists.id", ondelete="CASCADE"), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("channel", String(16), nullable=False),
    Column("version", Integer, nullable=False),
    Column("notification_id", UUIDType, nullable=True),
    Column("created_by", UUIDType, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    CheckConstraint("channel IN ('WHATSAPP','EMAIL','IN_APP')", name="channel_enum"),
    Index("ix_journey_shares_shortlist", "shortlist_id", "created_at"),
)

# Append-only: the newest row per listing (highest seq) is the customer's current reaction to it.
feedback = Table(
    "journey_feedback", metadata,
    Column("seq", BigIntPK, primary_key=True, autoincrement=True),
    Column("id", UUIDType, nullable=False, unique=True),
    Column("shortlist_id", UUIDType, ForeignKey("journey_shortlists.id", ondelete="CASCADE"), nullable=False),
    Column("pipeline_id", UUIDType, nullable=False),
    Column("share_id", UUIDType, ForeignKey("journey_shares.id", ondelete="CASCADE"), nullable=False),
    Column("listing_id", UUIDType, nullable=False),
    Column("version", Integer, nullable=False),
    Column("reaction", String(16), nullable=False),
    Column("comment", SealedText, nullable=True),  # the customer's words: sealed
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("reaction IN ('LIKE','DISLIKE','WANT_TO_VISIT')", name="reaction_enum"),
    Index("ix_journey_feedback_pipeline", "pipeline_id", "created_at"),
    Index("ix_journey_feedback_shortlist", "shortlist_id", "created_at"),
)



# The suggestions' SQL pre-filter on the listings read model (AVAILABLE of one deal type, then a must-have budget,
# a `near` bounding box or localities): partial indexes keep it off a sequential scan of every listing.
_AVAILABLE = "status = 'AVAILABLE'"
Index("ix_inventory_listings_match_price", listings.c.deal_type, listings.c.price,
      postgresql_where=text(_AVAILABLE), sqlite_where=text(_AVAILABLE))
Index("ix_inventory_listings_match_geo", listings.c.deal_type, listings.c.lat, listings.c.lon,
      postgresql_where=text(_AVAILABLE), sqlite_where=text(_AVAILABLE))
Index("ix_inventory_listings_locality", func.lower(listings.c.locality))
