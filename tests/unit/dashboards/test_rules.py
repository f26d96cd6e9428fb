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


def test_kpi_goals_are_strict_except_the_utilization_band():
    assert rules.GOALS["sla_compliance_percentage"].met(Decimal("95.01"))
    assert not rules.GOALS["sla_compliance_percentage"].met(Decimal("95.00"))
    assert not rules.GOALS["deal_cycle_days"].met(Decimal("14.00"))
    band = rules.GOALS["rm_utilization_percentage"]
    assert band.met(Decimal("70.00")) and band.met(Decimal("85.00")) and not band.met(Decimal("85.01"))
    assert (band.text(), rules.GOALS["refund_rate_percentage"].text()) == ("70-85", "< 3")


def test_workload_coefficient_of_variation():
    assert rules.coefficient_of_variation([2, 1]) == Decimal("33.33")
    assert rules.coefficient_of_variation([2, 1, 0]) == Decimal("81.65")
    assert rules.coefficient_of_variation([3, 3, 3]) == Decimal("0.00")
    assert rules.coefficient_of_variation([0, 0]) is None
    assert rules.coefficient_of_variation([]) is None


def test_mean_and_days():
    assert rules.mean([Decimal(10), Decimal("15.5")]) == Decimal("12.75")
    assert rules.mean([]) is None
    assert rules.days_between(t(0, 0), datetime(2026, 1, 6, 12, 0, tzinfo=UTC)) == Decimal("1.5")
