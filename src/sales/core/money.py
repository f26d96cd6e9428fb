"""Money in schemas: Decimal with at most two places, never negative, never through float."""
from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, WithJsonSchema

CENT = Decimal("0.01")
# ASCII digits with one optional point: what `Decimal()` also takes ("1_000", " 1000 ", "١٠٠٠", "1e3",
# "NaN", "+5") is not how an amount is written, so a string holding it is refused.
_PLAIN_AMOUNT = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def _plain_amount(value: Any) -> Any:
    if isinstance(value, str) and not _PLAIN_AMOUNT.fullmatch(value):
        raise ValueError("must be a plain decimal amount such as 2500.00 (ASCII digits and one optional point)")
    return value


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

Money = Annotated[Decimal, BeforeValidator(_plain_amount), Field(ge=0, le=MAX_MONEY, allow_inf_nan=False),
                  AfterValidator(_two_places), WithJsonSchema(_MONEY_INPUT_SCHEMA, mode="validation")]


def to_money(value: Decimal | int | str) -> Decimal:
    return Decimal(value).quantize(CENT)


# A Decimal in a response: the API writes it as a JSON number with its own places (sales.core.http), never
# a string, so the published schema says number (Pydantic's own JSON would be a string).
DecimalNumber = Annotated[Decimal, WithJsonSchema({"type": "number"}, mode="serialization")]
