"""Pure dashboard maths (issue 18): medians, compliance and KPI verdicts in Decimal, never a division by zero."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
SECONDS_PER_MINUTE = Decimal(60)


def half_up(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def months_of(start: date, end: date) -> tuple[str, str]:
    """The commission periods ("YYYY-MM") a dashboard period overlaps, as an inclusive range."""
    return f"{start.year:04d}-{start.month:02d}", f"{end.year:04d}-{end.month:02d}"


def median(values: Sequence[Decimal]) -> Decimal | None:
    """The median (the mean of the two middle values for an even count), 2 places half-up; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return half_up(ordered[middle])
    return half_up((ordered[middle - 1] + ordered[middle]) / 2)


def minutes_between(start: datetime, end: datetime) -> Decimal:
    delta = end - start
    return (Decimal(delta.days * 86400 + delta.seconds) + Decimal(delta.microseconds) / Decimal(1_000_000)
            ) / SECONDS_PER_MINUTE


def percentage(part: int | Decimal, whole: int | Decimal) -> Decimal | None:
    """part / whole x 100, 2 places half-up; None when there is no whole (nothing to measure)."""
    if not whole:
        return None
    return half_up(Decimal(part) * HUNDRED / Decimal(whole))


@dataclass(frozen=True)
class SlaOutcome:
    """One allocation's first response against its SLA deadline, as known at `now`."""

    allocated_at: datetime
    first_action_at: datetime | None
    sla_deadline: datetime


def sla_compliance(outcomes: Sequence[SlaOutcome], now: datetime) -> tuple[int, int, Decimal | None]:
    """(met, decided, %): an allocation is decided once acted on or once its deadline has passed; it met its SLA
    if first acted on by the deadline. Allocations still within their deadline without an action are not yet
    counted either way."""
    met = decided = 0
    for o in outcomes:
        if o.first_action_at is not None:
            decided += 1
            met += o.first_action_at <= o.sla_deadline
        elif now > o.sla_deadline:
            decided += 1
    return met, decided, percentage(met, decided)


def response_minutes(outcomes: Sequence[SlaOutcome]) -> list[Decimal]:
    return [minutes_between(o.allocated_at, o.first_action_at) for o in outcomes if o.first_action_at is not None]


# --- KPIs (PRD §9.1, §9.3) ------------------------------------------------------------------------

@dataclass(frozen=True)
class Goal:
    """A KPI's target: above `low` (exclusive) and/or below `high` (exclusive); a band when both are set
    (RM utilization 70-85% is inclusive at both ends)."""

    low: Decimal | None = None
    high: Decimal | None = None
    inclusive: bool = False

    def met(self, value: Decimal) -> bool:
        if self.inclusive:
            return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)
        return (self.low is None or value > self.low) and (self.high is None or value < self.high)

    def text(self) -> str:
        if self.low is not None and self.high is not None:
            return f"{self.low}-{self.high}"
        return f"> {self.low}" if self.low is not None else f"< {self.high}"


GOALS: dict[str, Goal] = {
    "upsell_conversion_percentage": Goal(low=Decimal(5)),
    "lead_to_close_percentage": Goal(low=Decimal(15)),
    "deal_cycle_days": Goal(high=Decimal(14)),
    "rm_utilization_percentage": Goal(low=Decimal(70), high=Decimal(85), inclusive=True),
    "sla_compliance_percentage": Goal(low=Decimal(95)),
    "commission_accuracy_percentage": Goal(low=Decimal(99)),
    "refund_rate_percentage": Goal(high=Decimal(3)),
    "lead_response_minutes": Goal(high=Decimal(30)),
    "workload_variance_percentage": Goal(high=Decimal(15)),
}


def mean(values: Sequence[Decimal]) -> Decimal | None:
    return half_up(sum(values, Decimal(0)) / len(values)) if values else None


def days_between(start: datetime, end: datetime) -> Decimal:
    return minutes_between(start, end) / Decimal(1440)


def coefficient_of_variation(loads: Sequence[int]) -> Decimal | None:
    """Population standard deviation / mean x 100 of the members' loads; None without members or load."""
    if not loads or not sum(loads):
        return None
    average = Decimal(sum(loads)) / len(loads)
    variance = sum(((Decimal(x) - average) ** 2 for x in loads), Decimal(0)) / len(loads)
    return half_up(variance.sqrt() / average * HUNDRED)
