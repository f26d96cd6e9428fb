"""Pure commission rules (PRD §6.2 CMR-001..006). No I/O: the service passes every figure in.

Money is Decimal, rounded half-up to the paisa once per line. Rates are percentages (5.0000 = 5 %).
Months ("periods") are calendar months in UTC, written YYYY-MM.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sales.commissions.enums import CommissionType

PAISA = Decimal("0.01")
HUNDRED = Decimal(100)
ELIGIBILITY = timedelta(days=30)       # CMR-001
CLAWBACK_WINDOW = timedelta(days=45)   # CMR-002
CAP_MULTIPLE = Decimal(3)              # CMR-005
DISPUTE_WINDOW = timedelta(days=7)     # CMR-006


def paisa(value: Decimal) -> Decimal:
    return value.quantize(PAISA, rounding=ROUND_HALF_UP)


def period_of(at: date | datetime) -> str:
    return f"{at.year:04d}-{at.month:02d}"


def month_bounds(period: str) -> tuple[datetime, datetime]:
    """[start, end) of a YYYY-MM period in UTC."""
    year, month = int(period[:4]), int(period[5:7])
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
    return start, end


@dataclass(frozen=True)
class Tier:
    min_achievement: Decimal  # percent of the monthly REVENUE target, inclusive
    rate: Decimal


@dataclass(frozen=True)
class Plan:
    id: Any
    version: int
    commission_type: CommissionType
    amount: Decimal | None
    rate: Decimal | None
    tiers: tuple[Tier, ...]
    exception_above: Decimal


def check_tiers(tiers: Sequence[Tier]) -> str | None:
    """A tier table starts at 0 % and rises strictly; None when valid, else why not."""
    if not tiers:
        return "a TIERED plan needs at least one tier"
    if tiers[0].min_achievement != 0:
        return "the first tier must start at min_achievement 0"
    for lower, upper in zip(tiers, tiers[1:]):
        if upper.min_achievement <= lower.min_achievement:
            return "tiers must be in strictly ascending min_achievement order"
    return None


def achievement(revenue: Decimal, target: Decimal | None) -> Decimal | None:
    """CMR-003: the month's REVENUE achievement in percent (exact); None without a target."""
    if target is None or target <= 0:
        return None
    return revenue * HUNDRED / target


def tier_for(tiers: Sequence[Tier], achieved: Decimal | None) -> tuple[int, Tier]:
    """CMR-003: the highest tier whose min_achievement (inclusive) is reached; no target -> the lowest tier.
    Returns the tier's 1-based number and the tier."""
    chosen = 0
    if achieved is not None:
        for index, tier in enumerate(tiers):
            if achieved >= tier.min_achievement:
                chosen = index
    return chosen + 1, tiers[chosen]


@dataclass(frozen=True)
class Calculation:
    rate: Decimal
    amount: Decimal
    rule: str
    inputs: dict[str, Any]


def calculate(plan: Plan, *, transaction_type: str, base: Decimal, achieved: Decimal | None,
              target: Decimal | None, revenue: Decimal) -> Calculation:
    """The commission of one sale under a plan version (before the CMR-005 cap)."""
    inputs: dict[str, Any] = {"plan_id": str(plan.id), "plan_version": plan.version,
                              "transaction_type": transaction_type, "base_amount": base}
    if plan.commission_type is CommissionType.FIXED:
        assert plan.amount is not None
        return Calculation(Decimal(0), paisa(plan.amount), f"FIXED {plan.amount:f} per {transaction_type}",
                           {**inputs, "fixed_amount": plan.amount})
    if plan.commission_type is CommissionType.PERCENTAGE:
        assert plan.rate is not None
        return Calculation(plan.rate, paisa(base * plan.rate / HUNDRED),
                           f"PERCENTAGE {plan.rate.normalize():f}% of {base:f}", {**inputs, "rate": plan.rate})
    number, tier = tier_for(plan.tiers, achieved)
    shown = None if achieved is None else paisa(achieved)
    why = ("no monthly REVENUE target: lowest tier" if achieved is None
           else f"monthly REVENUE achievement {shown:f}% (revenue {revenue:f} of target {target:f})")
    return Calculation(tier.rate, paisa(base * tier.rate / HUNDRED),
                       f"CMR-003 TIERED tier {number} ({tier.rate.normalize():f}% from {tier.min_achievement:f}%): {why}",
                       {**inputs, "tier": number, "rate": tier.rate, "tier_min_achievement": tier.min_achievement,
                        "month_revenue": revenue, "monthly_revenue_target": target, "achievement_percentage": shown,
                        "tiers": [{"min_achievement": t.min_achievement, "rate": t.rate} for t in plan.tiers]})


@dataclass(frozen=True)
class Capped:
    final: Decimal
    adjustment: Decimal | None
    note: str | None


def cap(amount: Decimal, *, month_total: Decimal, base_salary: Decimal) -> Capped:
    """CMR-005: the RM's month is capped at 3x base salary. The line that crosses the cap is reduced to what is
    left of it; a line after the cap is reached is zero. A negative line (a correction) is never capped."""
    limit = paisa(base_salary * CAP_MULTIPLE)
    if amount <= 0:
        return Capped(amount, None, None)
    room = max(limit - month_total, Decimal(0))
    if amount <= room:
        return Capped(amount, None, None)
    if room > 0:
        return Capped(room, room - amount, f"CMR-005: reduced from {amount:f} to {room:f}: the month's total reaches "
                                           f"the cap of {limit:f} (3 x base salary {base_salary:f})")
    return Capped(Decimal("0.00"), -amount, f"CMR-005: zero: the month's total already reached the cap of {limit:f} "
                                            f"(3 x base salary {base_salary:f})")


def earned_at(sale_at: datetime) -> datetime:
    """CMR-001: a sale's commission is earned once the customer stayed 30 days."""
    return sale_at + ELIGIBILITY


def is_earned(earned: datetime, now: datetime) -> bool:
    return now >= earned


def claws_back(sale_at: datetime, refunded_at: datetime) -> bool:
    """CMR-002: a refund or cancellation within 45 days of the sale (day 45 inclusive) claws the commission back."""
    return refunded_at - sale_at <= CLAWBACK_WINDOW


def may_dispute(calculated_at: datetime, now: datetime) -> bool:
    """CMR-006: disputes are raised within 7 days of the calculation (the 7th day inclusive)."""
    return now - calculated_at <= DISPUTE_WINDOW


def exception_reasons(*, amount: Decimal, threshold: Decimal, manual: bool, fraud_flagged: bool) -> list[str]:
    """US-SALE-042: why a line needs a second, different approver (empty: one approval is enough)."""
    reasons = []
    if amount > threshold:
        reasons.append(f"amount {amount:f} above the exception threshold {threshold:f}")
    if manual:
        reasons.append("manual adjustment")
    if fraud_flagged:
        reasons.append("customer flagged for refund fraud (RFR-005)")
    return reasons


def tier_delta(*, base: Decimal, new_rate: Decimal, gross_so_far: Decimal) -> Decimal:
    """CMR-003: what brings a line (with its earlier adjustments) to the new tier's rate."""
    return paisa(base * new_rate / HUNDRED) - gross_so_far
