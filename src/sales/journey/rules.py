"""Explainable matching of listings to a customer's requirements (issue 14 §2). Pure: no I/O, no clock.

Must-haves filter: a listing is suggested only when every must-have criterion is fully MET (and it is
AVAILABLE and of the requested deal type). Nice-to-haves score 0-100: each earns a credit between 0 and 1,
weighted by its weight (1..5) and normalized by the sum of weights: score = round(100 * sum(w*c) / sum(w)).
With no nice-to-haves every listing passing the must-haves scores 100. A criterion whose requirement field
is given but that `criteria` does not name is a nice-to-have of DEFAULT_WEIGHT.

Partial credit for near misses (PARTIAL), anything further is MISSED (credit 0):
- budget: up to 10% over the maximum (or under the minimum): credit 1 - 5 * deviation (1% over -> 0.95,
  10% over -> 0.50).
- area: the same rule as budget, against area_min / area_max.
- location: a listing within 3 km (NEIGHBOUR_KM) of the centre of a requested locality (a neighbouring
  locality), or outside the `near` radius but within 1.5 times it: credit 0.5.
- bhk: one BHK outside the range: credit 0.5.
- furnishing: one step away (FURNISHED / SEMI_FURNISHED / UNFURNISHED): credit 0.5.
- amenities: the share of the requested amenities the listing has (2 of 3 -> 0.67).
- move_in: available at most 14 days after move_in_by: credit 0.5.
- property_type: exact or missed.

Ties (same score after feedback) go to the higher raw score, then the cheaper listing, then the newer one,
then the id, so the order is stable. Feedback: a disliked listing loses DISLIKED_PENALTY points, a listing like
a disliked one (same locality and property type, BHK within one, price within 15%) loses SIMILAR_PENALTY.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Callable, Iterable
from uuid import UUID

from sales.core.errors import InvalidInput
from sales.journey.enums import Criterion, CriterionStatus

DEFAULT_WEIGHT = 3
NEAR_MISS = Decimal("0.10")  # budget and area: up to 10% off still earns partial credit
NEIGHBOUR_KM = 3.0
RADIUS_SLACK = 1.5
LATE_MOVE_IN_DAYS = 14
HALF = Decimal("0.50")
DISLIKED_PENALTY = 40
SIMILAR_PENALTY = 15
SIMILAR_PRICE = Decimal("0.15")
FURNISHING_STEPS = {"FURNISHED": 0, "SEMI_FURNISHED": 1, "UNFURNISHED": 2}
_CENTS = Decimal("0.01")
# A criterion's status, credit and the sentence explaining it, built lazily: ranking needs only the credits.
Outcome = tuple[CriterionStatus, Decimal, Callable[[], str]]


@dataclass(frozen=True)
class ListingFacts:
    """What the matcher reads of a listing (the inventory read model's columns)."""

    id: UUID
    locality: str
    lat: Decimal
    lon: Decimal
    property_type: str
    deal_type: str
    price: Decimal
    status: str
    listed_at: datetime
    bhk: int | None = None
    area_sqft: int | None = None
    furnishing: str | None = None
    amenities: tuple[str, ...] = ()
    available_from: date | None = None


@dataclass(frozen=True)
class Check:
    """One criterion's outcome: the explanation line of a suggestion."""

    criterion: Criterion
    must: bool
    weight: int | None
    status: CriterionStatus
    credit: Decimal
    detail: str


@dataclass(frozen=True)
class Match:
    listing: ListingFacts
    score: int
    checks: tuple[Check, ...]
    adjusted_score: int = 0
    feedback: str | None = None


@dataclass(frozen=True)
class Centre:
    lat: float
    lon: float


@dataclass(frozen=True)
class Context:
    """Facts the matcher needs beyond the listing: the centre of each requested locality (lower-cased)."""

    centres: dict[str, Centre] = field(default_factory=dict)


# --- requirements ---------------------------------------------------------------------------------------------

def present_criteria(req: Any) -> set[Criterion]:
    """The criteria the requirements give a value for."""
    given = {
        Criterion.budget: req.budget_min is not None or req.budget_max is not None,
        Criterion.location: bool(req.localities) or req.near is not None,
        Criterion.bhk: req.bhk_min is not None or req.bhk_max is not None,
        Criterion.area: req.area_min is not None or req.area_max is not None,
        Criterion.property_type: req.property_type is not None,
        Criterion.furnishing: req.furnishing is not None,
        Criterion.amenities: bool(req.amenities),
        Criterion.move_in: req.move_in_by is not None,
    }
    return {c for c, yes in given.items() if yes}


def check_requirements(req: Any) -> None:
    """Cross-field checks (422 naming the field): ranges in order, a radius needs a point, a criterion
    needs its requirement."""
    for low, high in (("budget_min", "budget_max"), ("bhk_min", "bhk_max"), ("area_min", "area_max")):
        a, b = getattr(req, low), getattr(req, high)
        if a is not None and b is not None and a > b:
            raise InvalidInput((low,), f"{low} must not exceed {high}")
    if req.near is not None:
        if req.near.lat is None or req.near.lon is None:
            raise InvalidInput(("near", "lat" if req.near.lat is None else "lon"),
                               "a radius needs a point: near needs lat and lon")
        if req.near.radius_km is None:
            raise InvalidInput(("near", "radius_km"), "near needs radius_km")
    present = present_criteria(req)
    for criterion in Criterion:
        if getattr(req.criteria, criterion.value) is not None and criterion not in present:
            raise InvalidInput(("criteria", criterion.value), f"criterion {criterion} has no requirement to weigh")


def effective_criteria(req: Any) -> dict[Criterion, tuple[bool, int | None]]:
    """criterion -> (must, weight) for every criterion the requirements give a value for."""
    out: dict[Criterion, tuple[bool, int | None]] = {}
    present = present_criteria(req)
    for criterion in (c for c in Criterion if c in present):  # in declaration order
        spec = getattr(req.criteria, criterion.value)
        if spec is not None and spec.must:
            out[criterion] = (True, None)
        else:
            out[criterion] = (False, spec.weight if spec is not None and spec.weight else DEFAULT_WEIGHT)
    return out


# --- one criterion at a time -----------------------------------------------------------------------------------

def _amount(value: Decimal) -> str:
    """Rupees with Indian digit grouping, paise only when there are any: 1250000 -> ₹12,50,000."""
    whole, paise = divmod(value.quantize(_CENTS), 1)
    digits = str(int(whole))
    head, tail = digits[:-3], digits[-3:]
    groups = []
    while len(head) > 2:
        head, groups = head[:-2], [head[-2:], *groups]
    text = ",".join([g for g in [head, *groups] if g] + [tail])
    return f"₹{text}" + (f".{int(paise * 100):02d}" if paise else "")


def _pct(fraction: Decimal) -> str:
    return f"{(fraction * 100).quantize(Decimal('0.1'), ROUND_HALF_UP)}%"


def _band(value: Decimal, low: Decimal | None, high: Decimal | None, *, what: str, show: Any) -> Outcome:
    """In [low, high]: met; up to 10% outside: partial 1 - 5 * deviation; further: missed."""
    if high is not None and value > high:
        deviation, side = (value - high) / high if high else Decimal(1), lambda: f"over the {show(high)} maximum"
    elif low is not None and value < low:
        deviation, side = (low - value) / low, lambda: f"under the {show(low)} minimum"
    else:
        return CriterionStatus.MET, Decimal(1), lambda: (
            f"{what} {show(value)} within " + " - ".join(show(b) for b in (low, high) if b is not None))

    def describe() -> str:
        return f"{what} {show(value)} is {_pct(deviation)} {side()}"

    if deviation <= NEAR_MISS:
        return CriterionStatus.PARTIAL, (1 - 5 * deviation).quantize(_CENTS, ROUND_HALF_UP), describe
    return CriterionStatus.MISSED, Decimal(0), describe


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine, mean Earth radius 6371 km)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(a)))


def _location(listing: ListingFacts, req: Any, ctx: Context) -> Outcome:
    wanted = {name.lower(): name for name in req.localities or []}
    here = listing.locality.lower()
    if here in wanted:
        return CriterionStatus.MET, Decimal(1), lambda: f"in {listing.locality}"
    lat, lon = float(listing.lat), float(listing.lon)
    distance = None
    if req.near is not None:
        distance = distance_km(lat, lon, float(req.near.lat), float(req.near.lon))
        radius = float(req.near.radius_km)
        if distance <= radius:
            return CriterionStatus.MET, Decimal(1), lambda: f"{distance:.1f} km away, within {radius:g} km"
    for key, name in wanted.items():
        centre = ctx.centres.get(key)
        if centre is not None and distance_km(lat, lon, centre.lat, centre.lon) <= NEIGHBOUR_KM:
            return CriterionStatus.PARTIAL, HALF, lambda: f"{listing.locality} neighbours {name}"
    if distance is not None and distance <= float(req.near.radius_km) * RADIUS_SLACK:
        return (CriterionStatus.PARTIAL, HALF, lambda: (
                f"{distance:.1f} km away, {distance - float(req.near.radius_km):.1f} km beyond the "
                f"{float(req.near.radius_km):g} km radius"))
    where = ", ".join(wanted.values()) if wanted else ""
    if distance is not None:
        where = (where + " or " if where else "") + f"{float(req.near.radius_km):g} km of the point"
    return CriterionStatus.MISSED, Decimal(0), lambda: f"{listing.locality} is not in {where}"


def _range_text(low: int | None, high: int | None) -> str:
    if low is not None and high is not None:
        return str(low) if low == high else f"{low}-{high}"
    return f"{low}+" if low is not None else f"up to {high}"


def _bhk(listing: ListingFacts, req: Any) -> Outcome:
    if listing.bhk is None:
        return CriterionStatus.MISSED, Decimal(0), lambda: "BHK not known"
    wanted = _range_text(req.bhk_min, req.bhk_max)
    if req.bhk_min is not None and listing.bhk < req.bhk_min:
        off = req.bhk_min - listing.bhk
    elif req.bhk_max is not None and listing.bhk > req.bhk_max:
        off = listing.bhk - req.bhk_max
    else:
        return CriterionStatus.MET, Decimal(1), lambda: f"{listing.bhk} BHK within {wanted} BHK"
    status = (CriterionStatus.PARTIAL, HALF) if off == 1 else (CriterionStatus.MISSED, Decimal(0))
    return (*status, lambda: f"{listing.bhk} BHK is {off} off {wanted} BHK")


def _furnishing(listing: ListingFacts, req: Any) -> Outcome:
    wanted = str(req.furnishing)
    if listing.furnishing is None:
        return CriterionStatus.MISSED, Decimal(0), lambda: "furnishing not known"
    if listing.furnishing == wanted:
        return CriterionStatus.MET, Decimal(1), lambda: f"{listing.furnishing.lower().replace('_', '-')} as wanted"
    if abs(FURNISHING_STEPS[listing.furnishing] - FURNISHING_STEPS[wanted]) == 1:
        return (CriterionStatus.PARTIAL, HALF, lambda: (
                f"{listing.furnishing.lower().replace('_', '-')}, one step from {wanted.lower().replace('_', '-')}"))
    return (CriterionStatus.MISSED, Decimal(0), lambda: (
            f"{listing.furnishing.lower().replace('_', '-')}, not {wanted.lower().replace('_', '-')}"))


def _amenities(listing: ListingFacts, req: Any) -> Outcome:
    wanted = list(dict.fromkeys(a.upper() for a in req.amenities))
    has = {a.upper() for a in listing.amenities}
    got = [a for a in wanted if a in has]
    missing = [a for a in wanted if a not in has]
    if not missing:
        return CriterionStatus.MET, Decimal(1), lambda: f"has {', '.join(got)}"
    if not got:
        return CriterionStatus.MISSED, Decimal(0), lambda: f"lacks {', '.join(missing)}"
    credit = (Decimal(len(got)) / len(wanted)).quantize(_CENTS, ROUND_HALF_UP)
    return CriterionStatus.PARTIAL, credit, lambda: f"has {', '.join(got)}; lacks {', '.join(missing)}"


def _move_in(listing: ListingFacts, req: Any) -> Outcome:
    ready = listing.available_from
    if ready is None or ready <= req.move_in_by:
        return CriterionStatus.MET, Decimal(1), lambda: f"available by {req.move_in_by.isoformat()}"
    late = (ready - req.move_in_by).days
    status = (CriterionStatus.PARTIAL, HALF) if late <= LATE_MOVE_IN_DAYS else (CriterionStatus.MISSED, Decimal(0))
    return (*status, lambda: f"available {ready.isoformat()}, {late} days after {req.move_in_by.isoformat()}")


def evaluate(criterion: Criterion, listing: ListingFacts, req: Any, ctx: Context) -> Outcome:
    """One criterion's status, credit (0..1) and how to say it (a sentence built only when asked for)."""
    if criterion is Criterion.budget:
        return _band(listing.price, req.budget_min, req.budget_max, what="price", show=_amount)
    if criterion is Criterion.area:
        if listing.area_sqft is None:
            return CriterionStatus.MISSED, Decimal(0), lambda: "area not known"
        low = Decimal(req.area_min) if req.area_min is not None else None
        high = Decimal(req.area_max) if req.area_max is not None else None
        return _band(Decimal(listing.area_sqft), low, high, what="area", show=lambda v: f"{v:,} sq ft")
    if criterion is Criterion.location:
        return _location(listing, req, ctx)
    if criterion is Criterion.bhk:
        return _bhk(listing, req)
    if criterion is Criterion.property_type:
        if listing.property_type == req.property_type:
            return CriterionStatus.MET, Decimal(1), lambda: f"{listing.property_type} as wanted"
        return CriterionStatus.MISSED, Decimal(0), lambda: f"{listing.property_type}, not {req.property_type}"
    if criterion is Criterion.furnishing:
        return _furnishing(listing, req)
    if criterion is Criterion.amenities:
        return _amenities(listing, req)
    return _move_in(listing, req)


# --- one listing, then the ranking ---------------------------------------------------------------------------

def explain(listing: ListingFacts, req: Any, ctx: Context | None = None,
            criteria: dict[Criterion, tuple[bool, int | None]] | None = None, *, describe: bool = True) -> Match:
    """Every criterion's outcome for the listing, must-haves included, and its nice-to-have score (`criteria`:
    effective_criteria(req), when the caller has it already; `describe=False` leaves the sentences empty)."""
    ctx = ctx or Context()
    checks: list[Check] = []
    earned, total = Decimal(0), 0
    for criterion, (must, weight) in (criteria if criteria is not None else effective_criteria(req)).items():
        status, credit, detail = evaluate(criterion, listing, req, ctx)
        checks.append(Check(criterion, must, weight, status, credit, detail() if describe else ""))
        if not must:
            earned += credit * weight  # type: ignore[operator]
            total += weight  # type: ignore[operator]
    score = 100 if total == 0 else int((earned * 100 / total).quantize(Decimal(1), ROUND_HALF_UP))
    return Match(listing, score, tuple(checks), adjusted_score=score)


def match(listing: ListingFacts, req: Any, ctx: Context | None = None,
          criteria: dict[Criterion, tuple[bool, int | None]] | None = None, *, describe: bool = True) -> Match | None:
    """The listing's score and explanation, or None when it is not AVAILABLE, of another deal type, or misses
    a must-have (a must-have counts only when fully MET)."""
    if listing.status != "AVAILABLE" or listing.deal_type != str(req.deal_type):
        return None
    result = explain(listing, req, ctx, criteria, describe=describe)
    if any(c.must and c.status is not CriterionStatus.MET for c in result.checks):
        return None
    return result


def is_similar(a: ListingFacts, b: ListingFacts) -> bool:
    """Same locality and property type, BHK within one, price within 15%."""
    if a.locality.lower() != b.locality.lower() or a.property_type != b.property_type:
        return False
    if (a.bhk is None) != (b.bhk is None) or (a.bhk is not None and abs(a.bhk - b.bhk) > 1):  # type: ignore[operator]
        return False
    return abs(a.price - b.price) <= SIMILAR_PRICE * max(a.price, b.price)


def with_feedback(m: Match, disliked: Iterable[ListingFacts]) -> Match:
    """Lower a disliked listing, and ones like a disliked listing, saying why."""
    disliked = list(disliked)
    if any(d.id == m.listing.id for d in disliked):
        penalty, why = DISLIKED_PENALTY, "the customer disliked this property"
    else:
        like = next((d for d in disliked if is_similar(m.listing, d)), None)
        if like is None:
            return m
        penalty = SIMILAR_PENALTY
        why = f"like a property the customer disliked ({like.locality}, {_amount(like.price)})"
    return Match(m.listing, m.score, m.checks, adjusted_score=max(0, m.score - penalty),
                 feedback=f"-{penalty}: {why}")


def sort_key(m: Match) -> tuple[Any, ...]:
    return (-m.adjusted_score, -m.score, m.listing.price, -m.listing.listed_at.timestamp(), str(m.listing.id))


def rank(listings: Iterable[ListingFacts], req: Any, *, ctx: Context | None = None,
         disliked: Iterable[ListingFacts] = (), limit: int | None = None) -> list[Match]:
    """Suggestions best first (ties: raw score, cheaper, newer, id); only the returned ones get their sentences."""
    disliked = list(disliked)
    criteria = effective_criteria(req)
    scored = [with_feedback(m, disliked) for m in (match(x, req, ctx, criteria, describe=False) for x in listings)
              if m is not None]
    scored.sort(key=sort_key)
    chosen = scored if limit is None else scored[:limit]
    return [replace(m, checks=explain(m.listing, req, ctx, criteria).checks) for m in chosen]
