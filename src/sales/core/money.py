"""Money in schemas: Decimal with at most two places, never negative, never through float."""
from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, Field

CENT = Decimal("0.01")


def _two_places(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("must be a finite amount")
    if value != value.quantize(CENT):
        raise ValueError("must have at most two decimal places")
    return value.quantize(CENT)


Money = Annotated[Decimal, Field(ge=0, le=Decimal("999999999999.99"), allow_inf_nan=False),
                  AfterValidator(_two_places)]


def to_money(value: Decimal | int | str) -> Decimal:
    return Decimal(value).quantize(CENT)
