"""Pure dashboard maths (issue 18): exact Decimal results, None instead of a division by zero."""
from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sales.dashboards import rules


def t(hour: int, minute: int) -> datetime:
    return datetime(2026, 1, 5, hour, minute, tzinfo=UTC)


def test_median_of_odd_even_and_empty():
    assert rules.median([Decimal(50), Decimal(10), Decimal(20)]) == Decimal("20.00")
    assert rules.median([Decimal(10), Decimal(15)]) == Decimal("12.50")
    assert rules.median([Decimal("0.005"), Decimal("0.01")]) == Decimal("0.01")  # 0.0075 half-up
    assert rules.median([]) is None


def test_percentage_never_divides_by_zero():
    assert rules.percentage(1, 3) == Decimal("33.33")
    assert rules.percentage(2, 3) == Decimal("66.67")
    assert rules.percentage(0, 0) is None


def test_sla_compliance_counts_decided_allocations_only():
    now = t(12, 0)
    outcomes = [rules.SlaOutcome(t(9, 0), t(9, 30), t(9, 30)),   # on the deadline: met
                rules.SlaOutcome(t(9, 0), t(9, 31), t(9, 30)),   # a minute late
                rules.SlaOutcome(t(9, 0), None, t(11, 0)),       # never acted, past: missed
                rules.SlaOutcome(t(11, 0), None, t(12, 30))]     # still within its deadline: not counted
    assert rules.sla_compliance(outcomes, now) == (1, 3, Decimal("33.33"))
    assert rules.response_minutes(outcomes) == [Decimal(30), Decimal(31)]
    assert rules.sla_compliance([], now) == (0, 0, None)


def test_minutes_keep_seconds_exactly():
    assert rules.minutes_between(t(9, 0), datetime(2026, 1, 5, 9, 0, 30, tzinfo=UTC)) == Decimal("0.5")


def test_commission_months_of_a_period():
    assert rules.months_of(date(2026, 1, 1), date(2026, 3, 31)) == ("2026-01", "2026-03")
    assert rules.months_of(date(2025, 12, 29), date(2026, 1, 4)) == ("2025-12", "2026-01")
