"""RM directory API contract."""
from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated
from uuid import UUID

from pydantic import (BaseModel, ConfigDict, EmailStr, Field, ValidationInfo, field_validator,
                      model_validator)

from sales.core.fields import Boolean, City, Date, Locality, Text, Zone, bounded_integer
from sales.core.money import DecimalNumber, Money
from sales.directory.enums import Availability, PropertyType, RMStatus, Segment

_HHMM = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")
Name = Annotated[Text, Field(min_length=1, max_length=200)]
MAX_LOCALITIES = 200
MAX_SHIFTS = 50  # several shifts a day, every day of the week


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TeamCreate(_Strict):
    id: UUID | None = None
    name: Name
    city: City
    supervisor_id: UUID | None = None


class TeamUpdate(_Strict):
    id: UUID | None = None
    name: Name | None = None
    city: City | None = None
    supervisor_id: UUID | None = None


class TeamRead(BaseModel):
    id: UUID
    name: str
    city: str
    supervisor_id: UUID | None
    created_at: datetime
    updated_at: datetime


class Shift(_Strict):
    weekday: bounded_integer(ge=0, le=6) = Field(description="0 = Monday ... 6 = Sunday")
    start: Annotated[Text, Field(max_length=5, description="HH:MM, business time (UTC)",
                                 json_schema_extra={"pattern": f"^{_HHMM.pattern}$"})]
    end: Annotated[Text, Field(max_length=5, description="HH:MM; an end before the start runs past midnight",
                               json_schema_extra={"pattern": f"^{_HHMM.pattern}$"})]

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        if not _HHMM.fullmatch(value):
            raise ValueError("must be HH:MM (24-hour)")
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> "Shift":
        if self.start == self.end:
            raise ValueError("start and end must differ")
        return self


def _unique(values: list) -> list:  # type: ignore[type-arg]
    return list(dict.fromkeys(values))


class _RMFields(_Strict):
    name: Name | None = None
    email: EmailStr | None = None
    phone: Annotated[Text, Field(max_length=32)] | None = None
    team_id: UUID | None = None
    city: City | None = None
    zone: Zone | None = None
    localities: Annotated[list[Locality], Field(max_length=MAX_LOCALITIES)] | None = None
    property_types: list[PropertyType] | None = None
    segments: list[Segment] | None = None
    max_deal_value: Money | None = None
    capacity: bounded_integer(ge=0, le=1000) | None = None
    max_leads_per_day: bounded_integer(ge=1, le=1000) | None = Field(
        default=None, description="at most this many new leads a day (city's time zone); null: team/city default")
    max_leads_per_week: bounded_integer(ge=1, le=10000) | None = Field(
        default=None, description="at most this many new leads a week from Monday; null: team/city default")
    base_salary: Money | None = None
    performance_score: bounded_integer(ge=0, le=100) | None = None
    is_backup: Boolean | None = None
    status: RMStatus | None = None
    availability: Availability | None = None
    shifts: Annotated[list[Shift], Field(max_length=MAX_SHIFTS)] | None = None

    @field_validator("localities", "property_types", "segments")
    @classmethod
    def _dedupe(cls, value: list | None) -> list | None:  # type: ignore[type-arg]
        return None if value is None else _unique(value)


class RMCreate(_RMFields):
    id: UUID = Field(description="The RM's platform user id")
    name: Name
    email: EmailStr
    city: City
    localities: Annotated[list[Locality], Field(max_length=MAX_LOCALITIES)] = []
    property_types: list[PropertyType] = [PropertyType.RESIDENTIAL, PropertyType.COMMERCIAL]
    segments: list[Segment] = [Segment.TENANT, Segment.OWNER, Segment.BUYER]
    capacity: bounded_integer(ge=0, le=1000) = 25
    base_salary: Money = Decimal("0.00")
    performance_score: bounded_integer(ge=0, le=100) = 50
    is_backup: Boolean = False
    status: RMStatus = RMStatus.ACTIVE
    availability: Availability = Availability.ONLINE
    shifts: Annotated[list[Shift], Field(max_length=MAX_SHIFTS)] = []


class RMUpdate(_RMFields):
    """Fields given replace the stored ones; fields left out stay as they are."""

    id: UUID | None = None


class RMRead(BaseModel):
    """The RM themself, their supervisor and SALES_ADMIN see every field; other staff see the contact details
    masked like customer PII."""

    id: UUID
    name: str
    email: str = Field(description="masked (`p***@example.com`) for staff who do not manage the RM")
    phone: str | None = Field(description="masked (`+91-98XXXXXXXX`) for staff who do not manage the RM")
    team_id: UUID | None
    city: str
    zone: str | None
    localities: list[str]
    property_types: list[PropertyType]
    segments: list[Segment]
    max_deal_value: DecimalNumber | None
    capacity: int
    max_leads_per_day: int | None = None
    max_leads_per_week: int | None = None
    base_salary: DecimalNumber | None = Field(description="null for staff who neither manage the RM nor handle "
                                                          "commissions (FINANCE_ADMIN)")
    performance_score: int
    is_backup: bool
    status: RMStatus
    availability: Availability
    shifts: list[Shift]
    active_leads: int
    created_at: datetime
    updated_at: datetime


class AvailabilityChange(_Strict):
    availability: Availability


class LeaveCreate(_Strict):
    start_date: Date
    end_date: Date
    reason: Annotated[Text, Field(max_length=1000)] | None = None

    @field_validator("end_date")
    @classmethod
    def _ordered(cls, value: date, info: ValidationInfo) -> date:
        start = info.data.get("start_date")
        if start is not None and value < start:
            raise ValueError("end_date must not be before start_date")
        return value


class LeaveRead(BaseModel):
    id: UUID
    rm_id: UUID
    start_date: Date
    end_date: Date
    reason: str | None
    created_by: UUID | None
    created_at: datetime


class ImportResult(BaseModel):
    created: int
    updated: int
    ids: list[UUID]


# The body of POST /rms/import: the CSV as the raw body, or as the multipart field `file`.
IMPORT_BODY = {"required": True, "content": {
    "text/csv": {"schema": {"type": "string"}},
    "multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                       "properties": {"file": {"type": "string", "format": "binary"}}}}}}
