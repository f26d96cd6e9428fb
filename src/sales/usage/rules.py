"""Pure usage rules."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

TENTH = Decimal("0.1")


def percent_used(*, quota: int | None, used: int) -> Decimal | None:
    """Share of the quota used, in % with one decimal (UPR-002 compares it with 80). An unlimited quota (None)
    has no percentage; a zero quota has nothing left (100.0). Over-use shows above 100."""
    if quota is None:
        return None
    if quota == 0:
        return Decimal("100.0")
    return (Decimal(used) * 100 / Decimal(quota)).quantize(TENTH, rounding=ROUND_HALF_UP)
