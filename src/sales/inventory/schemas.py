"""Listing API contract and the inventory.listing.* event payloads (issue 10 §2)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator

from sales.core.fields import Date, UTCDatetime, bounded_integer, bounded_text, json_number
from sales.core.money import DecimalNumber, Money
from sales.inventory import rules
from sales.inventory.enums import DealType, Furnishing, ListingStatus

City = bounded_text(100, min_length=1)
Place = bounded_text(200, min_length=1)
PropertyType = bounded_text(32, min_length=1, pattern=r"^[A-Z][A-Z0-9_]*$")
Amenity = bounded_text(64, min_length=1)


def _coordinate(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("must be a finite number")
    return value.quantize(rules.COORDINATE)


def _degrees(limit: int) -> Any:
    """A coordinate: a JSON number within +-limit degrees (published as such), kept exact to 6 places."""
    return Annotated[Decimal, BeforeValidator(json_number), Field(ge=-limit, le=limit),
                     AfterValidator(_coordinate),
                     WithJsonSchema({"type": "number", "minimum": -limit, "maximum": limit}, mode="validation")]


Latitude = _degrees(90)
Longitude = _degrees(180)


class _ListingFields(BaseModel):
    owner_id: UUID
    city: City
    locality: Place
    lat: Latitude
    lon: Longitude
    property_type: PropertyType = Field(description="Inventory's type in UPPER_SNAKE_CASE, e.g. APARTMENT, VILLA")
    deal_type: DealType
    bhk: bounded_integer(ge=0, le=50) | None = None
    area_sqft: bounded_integer(ge=1, le=10_000_000) | None = None
    price: Money = Field(description="monthly rent for RENT, asking price for SALE")
    furnishing: Furnishing | None = None
    amenities: list[Amenity] = Field(default=[], max_length=100)
    available_from: Date | None = None
    status: ListingStatus = ListingStatus.AVAILABLE
    listed_at: UTCDatetime

    @model_validator(mode="after")
    def _consistent(self) -> "_ListingFields":
        problem = rules.status_problem(self.deal_type, self.status)
        if problem:
            raise ValueError(problem)
        self.amenities = list(dict.fromkeys(self.amenities))
        return self


class ListingWrite(_ListingFields):
    """PUT body: the whole listing; `updated_at` (when Inventory changed it) older than the stored one is 409."""

    model_config = ConfigDict(extra="forbid")
    id: UUID | None = Field(default=None, description="optional; must equal the path id")
    updated_at: UTCDatetime | None = None


class ListingUpserted(_ListingFields):
    """inventory.listing.upserted"""

    model_config = ConfigDict(extra="ignore")
    id: UUID
    updated_at: UTCDatetime | None = None


class ListingRemoved(BaseModel):
    """inventory.listing.removed"""

    model_config = ConfigDict(extra="ignore")
    listing_id: UUID
    removed_at: UTCDatetime | None = None


class ListingStats(BaseModel):
    """inventory.listing.stats"""

    model_config = ConfigDict(extra="ignore")
    listing_id: UUID
    views_7d: int = Field(ge=0, le=2_147_483_647)
    at: UTCDatetime


class ListingRead(BaseModel):
    id: UUID
    owner_id: UUID
    city: str
    locality: str
    lat: DecimalNumber
    lon: DecimalNumber
    property_type: str
    deal_type: DealType
    bhk: int | None
    area_sqft: int | None
    price: DecimalNumber
    furnishing: Furnishing | None
    amenities: list[str]
    available_from: date | None
    status: ListingStatus
    listed_at: datetime
    views_7d: int | None = Field(description="views in the last 7 days (inventory.listing.stats); null until known")
    city_avg_views_7d: DecimalNumber | None = Field(
        description="mean views_7d of the city's AVAILABLE listings with stats, two places")
