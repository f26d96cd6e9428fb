"""Pure rules of the listing read model."""
from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from sales.inventory.enums import DealType, ListingStatus

COORDINATE = Decimal("0.000001")  # NUMERIC(9,6): about 0.1 m
CENT = Decimal("0.01")

# A listing for sale is never LET_OUT and one for rent is never SOLD.
_NOT_FOR = {DealType.SALE: ListingStatus.LET_OUT, DealType.RENT: ListingStatus.SOLD}


def status_problem(deal_type: DealType, status: ListingStatus) -> str | None:
    """Why this status does not fit the deal type, or None."""
    if _NOT_FOR[deal_type] == status:
        return f"a {deal_type} listing cannot be {status}"
    return None


def supersedes(incoming_at: datetime, stored_at: datetime | None) -> bool:
    """Out-of-order events: a change applies unless the stored one happened later (ties: the later arrival).
    The repository applies this rule in its conditional statements (`WHERE updated_at <= :incoming`)."""
    return stored_at is None or incoming_at >= stored_at


def city_average(total_views: int | Decimal | None, listings_with_stats: int) -> Decimal | None:
    """Mean 7-day views of a city's AVAILABLE listings with stats, exact to two places (half up); None without any."""
    if not listings_with_stats or total_views is None:
        return None
    return (Decimal(int(total_views)) / Decimal(listings_with_stats)).quantize(CENT, rounding=ROUND_HALF_UP)
