"""Visit plans (issue 15): one route of property visits for a pipeline's customer, its stops, and the owners'
availability as Scheduling reports it."""
from __future__ import annotations

from sqlalchemy import (Boolean, CheckConstraint, Column, Date, ForeignKey, Index, Integer, Numeric, SmallInteger,
                        String, Table, Text, UniqueConstraint)

from sales.core.sealed import SealedText
from sales.core.tables import metadata
from sales.core.types import JSONType, UTCDateTime, UUIDType

PLAN_STATUSES = ("ACTIVE", "COMPLETED")
STOP_STATUSES = ("REQUESTED", "CONFIRMED", "DECLINED", "UNSCHEDULED", "COMPLETED")

visit_plans = Table(
    "visit_plans", metadata,
    Column("id", UUIDType, primary_key=True),
    Column("pipeline_id", UUIDType, ForeignKey("sales_pipelines.id", ondelete="CASCADE"), nullable=False),
    Column("plan_date", Date, nullable=False),
    Column("window_start", UTCDateTime, nullable=False),
    Column("window_end", UTCDateTime, nullable=False),
    Column("start_lat", Numeric(9, 6, asdecimal=True), nullable=False),
    Column("start_lon", Numeric(9, 6, asdecimal=True), nullable=False),
    Column("visit_minutes", SmallInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("total_minutes", Integer, nullable=False),
    Column("travel_minutes", Integer, nullable=False),
    Column("wait_minutes", Integer, nullable=False),
    Column("version", Integer, nullable=False),  # 1, then +1 per replan
    Column("created_by", UUIDType, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("status IN ('ACTIVE','COMPLETED')", name="status_enum"),
    CheckConstraint("window_end > window_start", name="window_ordered"),
    Index("ix_visit_plans_pipeline", "pipeline_id", "created_at"),
)

visit_stops = Table(
    "visit_stops", metadata,
    Column("id", UUIDType, primary_key=True),
    Column("plan_id", UUIDType, ForeignKey("visit_plans.id", ondelete="CASCADE"), nullable=False),
    Column("listing_id", UUIDType, nullable=False),
    Column("request_index", SmallInteger, nullable=False),  # its place in the request's `stops`
    Column("position", SmallInteger, nullable=True),  # 1.. in the itinerary; NULL when not scheduled
    Column("lat", Numeric(9, 6, asdecimal=True), nullable=False),
    Column("lon", Numeric(9, 6, asdecimal=True), nullable=False),
    Column("owner_windows", JSONType, nullable=False),  # [[start, end], ...] ISO instants; [] = any time
    Column("window_source", String(16), nullable=False),  # REQUEST | SCHEDULING | NONE
    Column("status", String(16), nullable=False),
    Column("arrival_at", UTCDateTime, nullable=True),
    Column("start_at", UTCDateTime, nullable=True),
    Column("end_at", UTCDateTime, nullable=True),
    Column("travel_minutes", Integer, nullable=True),
    Column("wait_minutes", Integer, nullable=True),
    Column("visit_id", UUIDType, nullable=True),  # Scheduling's id, once it confirmed
    Column("decline_reason", Text, nullable=True),
    Column("interested", Boolean, nullable=True),
    Column("rating", SmallInteger, nullable=True),
    Column("notes", SealedText, nullable=True),  # the customer's feedback: sealed
    Column("outcome", String(64), nullable=True),  # as Scheduling reported it
    Column("completed_at", UTCDateTime, nullable=True),
    Column("reminded_24h_at", UTCDateTime, nullable=True),
    Column("reminded_1h_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("status IN ('REQUESTED','CONFIRMED','DECLINED','UNSCHEDULED','COMPLETED')",
                    name="status_enum"),
    CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="rating_range"),
    UniqueConstraint("plan_id", "listing_id", name="uq_visit_stops_plan_listing"),
    Index("ix_visit_stops_plan", "plan_id", "request_index"),
    Index("ix_visit_stops_status_start", "status", "start_at"),
)

# scheduling.availability.updated: a listing owner's windows, the newest report wins.
owner_availability = Table(
    "owner_availability", metadata,
    Column("listing_id", UUIDType, primary_key=True),
    Column("windows", JSONType, nullable=False),  # [[start, end], ...] ISO instants
    Column("reported_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
