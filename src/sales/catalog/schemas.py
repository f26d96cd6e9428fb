"""Plan API contract (issue 10 §2 Plans)."""
from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from sales.catalog.enums import UserType
from sales.core.money import DecimalNumber, Money
from sales.core.fields import Boolean, bounded_integer, bounded_text, refuse_nul, storable

FEATURE_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
MAX_FEATURES = 50
MAX_FEATURE_TEXT = 200
MAX_FEATURE_NUMBER = Decimal("1e12")

Code = bounded_text(64, min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
Name = bounded_text(200, min_length=1)
Tier = Annotated[bounded_integer(ge=0, le=100), Field(description="rank within the user type; 0 = free")]
DurationDays = bounded_integer(ge=1, le=3660)


def _feature_value(name: str, value: Any) -> bool | int | Decimal | str:
    if isinstance(value, bool):
        return value
    if isinstance(value, float):  # a Python caller; JSON bodies and events already give Decimal
        value = Decimal(repr(value))
    if isinstance(value, int | Decimal):
        if isinstance(value, Decimal) and not value.is_finite():
            raise ValueError(f"feature {name!r}: must be a finite number")
        if abs(value) > MAX_FEATURE_NUMBER:
            raise ValueError(f"feature {name!r}: at most {MAX_FEATURE_NUMBER:f} in magnitude")
        return value
    if isinstance(value, str):
        if len(value) > MAX_FEATURE_TEXT:
            raise ValueError(f"feature {name!r}: at most {MAX_FEATURE_TEXT} characters")
        return refuse_nul(value)
    raise ValueError(f"feature {name!r}: must be a number, a boolean or a string")


def check_features(value: Any) -> dict[str, bool | int | Decimal | str]:
    """Features are a flat object: feature name (snake_case) -> number | boolean | string."""
    if not isinstance(value, dict):
        raise ValueError("must be an object of feature name -> number, boolean or string")
    if len(value) > MAX_FEATURES:
        raise ValueError(f"at most {MAX_FEATURES} features")
    out: dict[str, bool | int | Decimal | str] = {}
    for name, item in value.items():
        if not isinstance(name, str) or not FEATURE_NAME.fullmatch(name):
            raise ValueError(f"feature name {str(name)[:70]!r} must be snake_case (a-z, 0-9, _), at most 64 "
                             "characters")
        out[name] = _feature_value(name, item)
    return out


# What check_features holds, published for clients (a NUL in a text value is refused too).
_FEATURES_SCHEMA = {
    "type": "object", "maxProperties": MAX_FEATURES, "propertyNames": {"pattern": f"^{FEATURE_NAME.pattern}$"},
    "additionalProperties": {"anyOf": [
        {"type": "boolean"},
        {"type": "number", "minimum": -float(MAX_FEATURE_NUMBER), "maximum": float(MAX_FEATURE_NUMBER)},
        {"type": "string", "maxLength": MAX_FEATURE_TEXT, "pattern": "^[^\\u0000]*$"}]},
}
Features = Annotated[dict[str, bool | int | Decimal | str], BeforeValidator(check_features), AfterValidator(storable),
                     WithJsonSchema(_FEATURES_SCHEMA, mode="validation")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlanCreate(_Strict):
    id: UUID | None = Field(default=None, description="Entitlements' plan id; generated when absent")
    code: Code
    name: Name
    user_type: UserType
    tier: Tier
    price: Money
    duration_days: DurationDays
    features: Features = {}
    active: Boolean = True


class PlanUpdate(_Strict):
    """Fields given replace the stored ones; fields left out stay as they are."""

    id: UUID | None = None
    code: Code | None = None
    name: Name | None = None
    user_type: UserType | None = None
    tier: Tier | None = None
    price: Money | None = None
    duration_days: DurationDays | None = None
    features: Features | None = None
    active: Boolean | None = None


class PlanRead(BaseModel):
    id: UUID
    code: str
    name: str
    user_type: UserType
    tier: int
    price: DecimalNumber
    duration_days: int
    features: dict[str, bool | int | DecimalNumber | str]
    active: bool
    created_at: datetime
    updated_at: datetime
