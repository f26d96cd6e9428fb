"""Money in schemas: Decimal with at most two places, never negative, never through float."""
from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, Field, WithJsonSchema

CENT = Decimal("0.01")


def _two_places(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("must be a finite amount")
    if value != value.quantize(CENT):
        raise ValueError("must have at most two decimal places")
    return value.quantize(CENT)


MAX_MONEY = Decimal("999999999999.99")

# What a client may send, as the published OpenAPI says it: a number or a numeric string, at most two places.
_MONEY_INPUT_SCHEMA = {"anyOf": [
    {"type": "number", "minimum": 0, "maximum": float(MAX_MONEY), "multipleOf": 0.01},
    {"type": "string", "pattern": r"^[0-9]{1,12}(\.[0-9]{1,2})?$"}]}

Money = Annotated[Decimal, Field(ge=0, le=MAX_MONEY, allow_inf_nan=False), AfterValidator(_two_places),
                  WithJsonSchema(_MONEY_INPUT_SCHEMA, mode="validation")]


def to_money(value: Decimal | int | str) -> Decimal:
    return Decimal(value).quantize(CENT)


# A Decimal in a response: the API writes it as a JSON number with its own places (sales.core.http), never
# a string, so the published schema says number (Pydantic's own JSON would be a string).
DecimalNumber = Annotated[Decimal, WithJsonSchema({"type": "number"}, mode="serialization")]
