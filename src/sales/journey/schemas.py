"""Journey API contract (issue 14): requirements, suggestions, shortlists, shares and feedback."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator

from sales.core.fields import Boolean, Date, Locality, bounded_integer, bounded_text, json_number
from sales.core.money import DecimalNumber, Money
from sales.inventory.enums import Furnishing
from sales.inventory.schemas import Latitude, Longitude
from sales.journey.enums import Criterion, CriterionStatus, DealType, Reaction, ShareChannel

PropertyType = bounded_text(32, min_length=1, pattern=r"^[A-Z][A-Z0-9_]*$")
Amenity = bounded_text(64, min_length=1)
Title = bounded_text(200, min_length=1)
Notes = bounded_text(2000)
ItemNote = bounded_text(500)
Comment = bounded_text(1000)
Radius = Annotated[Decimal, BeforeValidator(json_number), Field(gt=0, le=100, allow_inf_nan=False),
                   WithJsonSchema({"type": "number", "exclusiveMinimum": 0, "maximum": 100}, mode="validation")]
Weight = bounded_integer(ge=1, le=5)
MAX_ITEMS = 50


class Near(BaseModel):
    """A point and a radius; a radius without a point is refused (422 naming near.lat)."""

    model_config = ConfigDict(extra="forbid")
    lat: Latitude | None = None
    lon: Longitude | None = None
    radius_km: Radius | None = None


class CriterionSpec(BaseModel):
    """`{"must": true}` (must-have) or `{"weight": 1..5}` (nice-to-have)."""

    model_config = ConfigDict(extra="forbid")
    must: Boolean | None = None
    weight: Weight | None = None

    @model_validator(mode="after")
    def _one_of(self) -> "CriterionSpec":
        if self.must and self.weight is not None:
            raise ValueError("a criterion is either a must-have or has a weight, not both")
        if not self.must and self.weight is None:
            raise ValueError('give {"must": true} or {"weight": 1..5}')
        return self


class Criteria(BaseModel):
    """Per criterion `{"must": true}` or `{"weight": 1..5}`; an unnamed criterion with a value weighs 3."""

    model_config = ConfigDict(extra="forbid")
    budget: CriterionSpec | None = None
    location: CriterionSpec | None = None
    bhk: CriterionSpec | None = None
    area: CriterionSpec | None = None
    property_type: CriterionSpec | None = None
    furnishing: CriterionSpec | None = None
    amenities: CriterionSpec | None = None
    move_in: CriterionSpec | None = None


class RequirementsWrite(BaseModel):
    """PUT /pipelines/{id}/requirements: every save is a new version."""

    model_config = ConfigDict(extra="forbid")
    deal_type: DealType
    property_type: PropertyType | None = None
    budget_min: Money | None = None
    budget_max: Money | None = None
    localities: list[Locality] = Field(default=[], max_length=20)
    near: Near | None = None
    bhk_min: bounded_integer(ge=0, le=50) | None = None
    bhk_max: bounded_integer(ge=0, le=50) | None = None
    area_min: bounded_integer(ge=1, le=10_000_000) | None = None
    area_max: bounded_integer(ge=1, le=10_000_000) | None = None
    furnishing: Furnishing | None = None
    amenities: list[Amenity] = Field(default=[], max_length=30)
    move_in_by: Date | None = None
    criteria: Criteria = Field(default_factory=Criteria)


class NearRead(BaseModel):
    lat: DecimalNumber
    lon: DecimalNumber
    radius_km: DecimalNumber


class CriterionRead(BaseModel):
    must: bool | None = None
    weight: int | None = None


class CriteriaRead(BaseModel):
    budget: CriterionRead | None = None
    location: CriterionRead | None = None
    bhk: CriterionRead | None = None
    area: CriterionRead | None = None
    property_type: CriterionRead | None = None
    furnishing: CriterionRead | None = None
    amenities: CriterionRead | None = None
    move_in: CriterionRead | None = None


class RequirementsFields(BaseModel):
    deal_type: DealType
    property_type: str | None = None
    budget_min: DecimalNumber | None = None
    budget_max: DecimalNumber | None = None
    localities: list[str] = []
    near: NearRead | None = None
    bhk_min: int | None = None
    bhk_max: int | None = None
    area_min: int | None = None
    area_max: int | None = None
    furnishing: Furnishing | None = None
    amenities: list[str] = []
    move_in_by: date | None = None
    criteria: CriteriaRead = Field(default_factory=CriteriaRead)


class RequirementsRead(RequirementsFields):
    pipeline_id: UUID
    version: int
    author_id: UUID
    created_at: datetime


class RequirementsHistory(BaseModel):
    """This pipeline's versions, newest first, and the customer's requirements on their other pipelines."""

    items: list[RequirementsRead]
    other_pipelines: list[RequirementsRead]


class CheckRead(BaseModel):
    criterion: Criterion
    must: bool
    weight: int | None
    status: CriterionStatus
    credit: DecimalNumber
    detail: str


class ListingSummary(BaseModel):
    """What the RM and the customer see of a listing (never the owner or their contacts)."""

    id: UUID
    city: str
    locality: str
    property_type: str
    deal_type: str
    bhk: int | None
    area_sqft: int | None
    price: DecimalNumber
    furnishing: str | None
    amenities: list[str]
    available_from: date | None
    status: str


class Suggestion(BaseModel):
    listing: ListingSummary
    score: int = Field(description="match score 0-100 from the nice-to-haves")
    adjusted_score: int = Field(description="score after the customer's feedback (the ranking key)")
    explanation: list[CheckRead]
    feedback: str | None = None
    on_shortlist: bool


class Suggestions(BaseModel):
    requirements_version: int
    items: list[Suggestion]


# --- shortlists ---------------------------------------------------------------------------------------------

class ShortlistCreate(BaseModel):
    """From suggestions (`from_suggestions`: the top n) and/or manual `listing_ids` (flagged manual)."""

    model_config = ConfigDict(extra="forbid")
    title: Title | None = None
    notes: Notes | None = None
    from_suggestions: bounded_integer(ge=0, le=MAX_ITEMS) = 0
    listing_ids: list[UUID] = Field(default=[], max_length=MAX_ITEMS)


class ItemNoteChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    listing_id: UUID
    note: ItemNote | None


class ShortlistUpdate(BaseModel):
    """PATCH /shortlists/{sid}: add (manual), remove, reorder (the full new order), notes; applied in that order."""

    model_config = ConfigDict(extra="forbid")
    title: Title | None = None
    notes: Notes | None = None
    add: list[UUID] = Field(default=[], max_length=MAX_ITEMS)
    remove: list[UUID] = Field(default=[], max_length=MAX_ITEMS)
    order: list[UUID] | None = Field(default=None, max_length=MAX_ITEMS)
    item_notes: list[ItemNoteChange] = Field(default=[], max_length=MAX_ITEMS)


class ShortlistItem(BaseModel):
    listing_id: UUID
    position: int
    manual: bool
    note: str | None
    score: int | None
    explanation: list[CheckRead]
    listing: ListingSummary | None = None


class FeedbackRead(BaseModel):
    id: UUID
    shortlist_id: UUID
    listing_id: UUID
    version: int
    reaction: Reaction
    comment: str | None
    created_at: datetime


class ShortlistRead(BaseModel):
    id: UUID
    pipeline_id: UUID
    title: str
    notes: str | None
    version: int
    shared_version: int | None
    items: list[ShortlistItem]
    created_by: UUID
    created_at: datetime
    updated_at: datetime
    feedback: list[FeedbackRead] = []


class ShortlistVersion(BaseModel):
    version: int
    items: list[ShortlistItem]
    notes: str | None
    diff: dict[str, Any] = Field(description="added, removed, moved, notes_changed against the previous version")
    created_by: UUID
    created_at: datetime


class ShareCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: ShareChannel
    expires_in_days: bounded_integer(ge=1, le=90) = 14


class NotificationSummary(BaseModel):
    status: str
    channel: str | None
    reason: str


class ShareRead(BaseModel):
    """The link is given out once, here and in the message: only its hash is stored."""

    id: UUID
    shortlist_id: UUID
    version: int
    channel: ShareChannel
    token: str
    url: str
    expires_at: datetime
    notification: NotificationSummary


class FeedbackCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    listing_id: UUID
    reaction: Reaction
    comment: Comment | None = None


class PipelineFeedback(BaseModel):
    """Every reaction on the pipeline's shortlists, newest first, and the visit planner's order."""

    items: list[FeedbackRead]
    visit_candidates: list[UUID] = Field(description="want-to-visit listings first, then liked ones")
