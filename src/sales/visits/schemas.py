from __future__ import annotations

from datetime import date as calendar_date, datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sales.core.fields import Boolean, Date, Text, UTCDatetime, bounded_integer, bounded_number, bounded_text
from sales.visits.enums import PlanStatus, StopStatus, WindowSource
from sales.visits.planner import MAX_STOPS


# A time of day on the plan's `date` (UTC, like every time of the API), or a full ISO 8601 instant.
ClockTime = bounded_text(8, min_length=5, pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$")
WindowTime = UTCDatetime | ClockTime
Latitude = bounded_number(ge=-90, le=90)
Longitude = bounded_number(ge=-180, le=180)


class Coordinates(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lat: Latitude  # type: ignore[valid-type]
    lon: Longitude  # type: ignore[valid-type]


class StopRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    listing_id: UUID
    owner_window_start: WindowTime | None = None  # type: ignore[valid-type]
    owner_window_end: WindowTime | None = None  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _both_or_neither(self) -> "StopRequest":
        if (self.owner_window_start is None) != (self.owner_window_end is None):
            raise ValueError("owner_window_start and owner_window_end go together")
        return self


class VisitPlanCreate(BaseModel):
    """POST /pipelines/{id}/visit-plans: the customer's window on `date`, where they start, how long each visit
    takes, and the listings to see (owner windows optional: Scheduling's availability wins when known)."""

    model_config = ConfigDict(extra="forbid")

    date: Date
    window_start: WindowTime  # type: ignore[valid-type]
    window_end: WindowTime  # type: ignore[valid-type]
    start: Coordinates
    visit_minutes: bounded_integer(ge=5, le=240) = 30  # type: ignore[valid-type]
    stops: list[StopRequest] = Field(min_length=1, max_length=MAX_STOPS)


class OwnerWindow(BaseModel):
    start: datetime
    end: datetime


class StopRead(BaseModel):
    id: UUID
    listing_id: UUID
    position: int | None
    status: StopStatus
    lat: float
    lon: float
    arrival_at: datetime | None
    start_at: datetime | None
    end_at: datetime | None
    travel_minutes: int | None
    wait_minutes: int | None
    owner_windows: list[OwnerWindow]
    window_source: WindowSource
    visit_id: UUID | None
    decline_reason: str | None
    interested: bool | None
    rating: int | None
    notes: str | None
    outcome: str | None
    completed_at: datetime | None


class VisitPlanRead(BaseModel):
    id: UUID
    pipeline_id: UUID
    date: calendar_date
    window_start: datetime
    window_end: datetime
    start: dict[str, float]
    visit_minutes: int
    status: PlanStatus
    version: int
    total_minutes: int = Field(description="travel + waiting of the itinerary")
    travel_minutes: int
    wait_minutes: int
    itinerary: list[StopRead] = Field(description="the scheduled stops in visiting order")
    unscheduled: list[StopRead] = Field(description="declined stops and those a re-plan could no longer fit")
    created_at: datetime
    updated_at: datetime


class PlannedVisit(BaseModel):
    listing_id: UUID
    position: int
    arrival_at: datetime
    start_at: datetime
    end_at: datetime
    travel_minutes: int
    wait_minutes: int


class InfeasibleStop(BaseModel):
    index: int
    listing_id: UUID
    reason: str


class BestPlan(BaseModel):
    itinerary: list[PlannedVisit]
    total_minutes: int
    travel_minutes: int
    wait_minutes: int


class StopOutcome(BaseModel):
    """PATCH /visit-plans/{pid}/stops/{sid}: what the customer thought of the visited listing."""

    model_config = ConfigDict(extra="forbid")

    interested: Boolean | None = None
    rating: bounded_integer(ge=1, le=5) | None = None  # type: ignore[valid-type]
    notes: Annotated[Text, Field(max_length=4000)] | None = None  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _something(self) -> "StopOutcome":
        if self.interested is None and self.rating is None and self.notes is None:
            raise ValueError("give interested, rating or notes")
        return self


class AvailabilityWindow(BaseModel):
    model_config = ConfigDict(extra="allow")

    start: datetime
    end: datetime


class AvailabilityUpdated(BaseModel):
    """scheduling.availability.updated"""

    model_config = ConfigDict(extra="allow")

    listing_id: UUID
    windows: list[AvailabilityWindow]
    updated_at: datetime | None = None


OUTCOME_MAX = 64
ANSWER_TEXT_MAX = 2000


class VisitAnswer(BaseModel):
    """scheduling.visit.confirmed / declined / completed naming our request (the stop id)."""

    model_config = ConfigDict(extra="allow")

    request_id: UUID | None = None
    stop_id: UUID | None = None
    visit_id: UUID | None = None
    # Bounded like the columns they land in: longer text from Scheduling is parked, not stored (OWASP API10).
    reason: str | None = Field(default=None, max_length=ANSWER_TEXT_MAX)
    outcome: str | None = Field(default=None, max_length=OUTCOME_MAX)  # visit_stops.outcome
    interested: bool | None = None
    rating: int | None = Field(default=None, ge=1, le=5)
    notes: str | None = Field(default=None, max_length=ANSWER_TEXT_MAX)

    @property
    def stop(self) -> UUID | None:
        return self.request_id or self.stop_id


def plan_read(plan: Any, stops: list[StopRead]) -> VisitPlanRead:
    scheduled = sorted((s for s in stops if s.position is not None), key=lambda s: s.position or 0)
    return VisitPlanRead(
        id=plan.id, pipeline_id=plan.pipeline_id, date=plan.plan_date, window_start=plan.window_start,
        window_end=plan.window_end, start={"lat": float(plan.start_lat), "lon": float(plan.start_lon)},
        visit_minutes=plan.visit_minutes, status=plan.status, version=plan.version,
        total_minutes=plan.total_minutes, travel_minutes=plan.travel_minutes, wait_minutes=plan.wait_minutes,
        itinerary=scheduled, unscheduled=[s for s in stops if s.position is None], created_at=plan.created_at,
        updated_at=plan.updated_at)
