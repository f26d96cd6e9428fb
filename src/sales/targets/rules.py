"""Pure target rules (PRD §3.2.4, §2.2.6; issue 13): periods, achievement, status, leaderboard ranks. No I/O.

Periods are calendar periods in the assignee's city time zone (the allocation rules' `timezone` of that city,
UTC by default): a target's facts are those that happened in [period_start 00:00, period_end + 1 day 00:00)
local time.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from sales.targets.enums import MetricType, PeriodType, TargetStatus

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
# A city's target is assigned to the city's id: a UUID derived from its name (case-insensitive), so the same
# city always has the same id.
CITY_NAMESPACE = uuid.UUID("5a1e5c17-7a26-4e7b-9c3f-000000c17e00")
COUNTS = frozenset({MetricType.DEALS_CLOSED, MetricType.LEADS_CONTACTED, MetricType.VISITS_SCHEDULED,
                    MetricType.UPSELL_CONVERSIONS})
RATES = frozenset({MetricType.CONVERSION_RATE, MetricType.CUSTOMER_SATISFACTION})
MAX_CSAT = Decimal(10)  # scores are 0..10 (a 1-5 CSAT or a 0-10 NPS answer)
LIVE = (TargetStatus.ACTIVE.value, TargetStatus.ACHIEVED.value)  # statuses that still move with the facts


def city_id(city: str) -> uuid.UUID:
    return uuid.uuid5(CITY_NAMESPACE, city.strip().casefold())


# --- periods --------------------------------------------------------------------------------------

def _quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def period_start_containing(period_type: PeriodType, day: date) -> date:
    if period_type is PeriodType.DAILY:
        return day
    if period_type is PeriodType.WEEKLY:
        return day - timedelta(days=day.weekday())
    if period_type is PeriodType.MONTHLY:
        return day.replace(day=1)
    return _quarter_start(day)


def boundary_problem(period_type: PeriodType, start: date) -> str | None:
    """Why `start` does not begin a period of this type (a WEEKLY period starts on a Monday, MONTHLY on the 1st,
    QUARTERLY on 1 January, April, July or October), or None."""
    if period_start_containing(period_type, start) == start:
        return None
    return {PeriodType.WEEKLY: "a WEEKLY period starts on a Monday",
            PeriodType.MONTHLY: "a MONTHLY period starts on the 1st of a month",
            PeriodType.QUARTERLY: "a QUARTERLY period starts on 1 January, 1 April, 1 July or 1 October",
            }[period_type]


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def period_end(period_type: PeriodType, start: date) -> date:
    """The last day (inclusive) of the period beginning on `start`."""
    if period_type is PeriodType.DAILY:
        return start
    if period_type is PeriodType.WEEKLY:
        return start + timedelta(days=6)
    return _add_months(start, 1 if period_type is PeriodType.MONTHLY else 3) - timedelta(days=1)


def local_date(at: datetime, timezone: str) -> date:
    return at.astimezone(ZoneInfo(timezone)).date()


def window(start: date, end: date, timezone: str) -> tuple[datetime, datetime]:
    """[start 00:00, end + 1 day 00:00) in the city's time zone, as UTC instants."""
    zone = ZoneInfo(timezone)
    return (datetime.combine(start, time.min, tzinfo=zone).astimezone(UTC),
            datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC))


def local_day(now: datetime, timezone: str) -> date:
    return now.astimezone(ZoneInfo(timezone)).date()


def period_over(end: date, timezone: str, now: datetime) -> bool:
    return now >= window(end, end, timezone)[1]


# --- achievement ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Facts:
    """What one RM (or a rolled-up set of RMs) did in a period for one metric: a sum or count (`total`), and for
    rates the base (`base`: leads allocated for CONVERSION_RATE, scores received for CUSTOMER_SATISFACTION)."""

    total: Decimal = Decimal(0)
    base: int = 0

    def __add__(self, other: Facts) -> Facts:
        return Facts(self.total + other.total, self.base + other.base)


def roll_up(facts: Iterable[Facts]) -> Facts:
    """A team or city: the members' sums and counts added up; its rates are the pooled ratio (all deals won over
    all leads allocated; the mean of every score), i.e. the members' rates weighted by their volume."""
    return sum(facts, Facts())


def half_up(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def achieved_value(metric: MetricType, facts: Facts) -> Decimal:
    """REVENUE: rupees; counts: whole numbers; CONVERSION_RATE: won / allocated x 100 (%); CUSTOMER_SATISFACTION:
    the mean score. A rate without a base (no lead allocated, no score) is 0. Rounded half-up to 2 places."""
    if metric in RATES:
        if facts.base == 0:
            return Decimal("0.00")
        scale = HUNDRED if metric is MetricType.CONVERSION_RATE else Decimal(1)
        return half_up(facts.total * scale / facts.base)
    return half_up(facts.total)


MAX_PERCENTAGE = Decimal("99999.99")  # the column's Numeric(7, 2)


def percentage(achieved: Decimal, target: Decimal) -> Decimal:
    """achieved / target x 100, rounded half-up to 2 places (capped at 99999.99, the column's width)."""
    return min(half_up(achieved * HUNDRED / target), MAX_PERCENTAGE)


def met(achieved: Decimal, target: Decimal) -> bool:
    """A target is met when the achieved value reaches it exactly (999.99 of 1000 shows 100.00 % but is not met)."""
    return achieved >= target


def live_status(achieved: Decimal, target: Decimal) -> TargetStatus:
    """While its period runs, a target is ACHIEVED as long as it is met (a rate can fall back below)."""
    return TargetStatus.ACHIEVED if met(achieved, target) else TargetStatus.ACTIVE


def closing_status(achieved: Decimal, target: Decimal) -> TargetStatus:
    """When its period has ended (targets-close): ACHIEVED if met, else MISSED."""
    return TargetStatus.ACHIEVED if met(achieved, target) else TargetStatus.MISSED


# --- input ----------------------------------------------------------------------------------------

def target_value_problem(metric: MetricType, value: Decimal) -> str | None:
    if value <= 0:
        return "must be greater than 0"
    if metric in COUNTS and value != value.to_integral_value():
        return f"a {metric.value} target is a whole number"
    if metric is MetricType.CONVERSION_RATE and value > HUNDRED:
        return "a CONVERSION_RATE target is a percentage (at most 100)"
    if metric is MetricType.CUSTOMER_SATISFACTION and value > MAX_CSAT:
        return f"a CUSTOMER_SATISFACTION target is a score (at most {MAX_CSAT})"
    return None


# --- leaderboard ----------------------------------------------------------------------------------

def ranks(keys: Sequence[tuple[Decimal, Decimal]]) -> list[int]:
    """Competition ranks of (achievement_percentage, achieved_value) sorted best first: equal keys share a rank and
    the next rank skips (1, 1, 3)."""
    result: list[int] = []
    for i, key in enumerate(keys):
        result.append(result[-1] if i and key == keys[i - 1] else i + 1)
    return result
