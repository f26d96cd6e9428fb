"""Pure target rules (issue 13): periods, achievement, percentages, status, ranks."""
from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from sales.targets import rules
from sales.targets.enums import MetricType, PeriodType, TargetStatus
from sales.targets.rules import Facts


@pytest.mark.parametrize(("period_type", "start", "end"), [
    (PeriodType.DAILY, date(2026, 2, 28), date(2026, 2, 28)),
    (PeriodType.WEEKLY, date(2026, 12, 28), date(2027, 1, 3)),
    (PeriodType.MONTHLY, date(2026, 12, 1), date(2026, 12, 31)),
    (PeriodType.MONTHLY, date(2024, 2, 1), date(2024, 2, 29)),
    (PeriodType.QUARTERLY, date(2026, 1, 1), date(2026, 3, 31)),
    (PeriodType.QUARTERLY, date(2026, 10, 1), date(2026, 12, 31)),
])
def test_period_end(period_type, start, end):
    assert rules.boundary_problem(period_type, start) is None
    assert rules.period_end(period_type, start) == end


@pytest.mark.parametrize(("period_type", "start"), [
    (PeriodType.WEEKLY, date(2026, 1, 11)),  # a Sunday
    (PeriodType.MONTHLY, date(2026, 1, 31)),
    (PeriodType.QUARTERLY, date(2026, 3, 1)),
])
def test_off_boundary_starts_are_named(period_type, start):
    assert period_type.value in rules.boundary_problem(period_type, start)


def test_period_containing():
    day = date(2026, 5, 14)  # a Thursday
    assert [rules.period_start_containing(p, day) for p in PeriodType] == [
        day, date(2026, 5, 11), date(2026, 5, 1), date(2026, 4, 1)]


def test_window_is_local_midnight_to_midnight_in_utc():
    assert rules.window(date(2026, 1, 1), date(2026, 1, 31), "Asia/Kolkata") == (
        datetime(2025, 12, 31, 18, 30, tzinfo=UTC), datetime(2026, 1, 31, 18, 30, tzinfo=UTC))
    assert rules.period_over(date(2026, 1, 31), "UTC", datetime(2026, 2, 1, tzinfo=UTC))
    assert not rules.period_over(date(2026, 1, 31), "UTC", datetime(2026, 1, 31, 23, 59, 59, tzinfo=UTC))


def test_achieved_values_and_rates():
    assert rules.achieved_value(MetricType.REVENUE, Facts(Decimal("1234.565"))) == Decimal("1234.57")
    assert rules.achieved_value(MetricType.DEALS_CLOSED, Facts(Decimal(3))) == Decimal("3.00")
    assert rules.achieved_value(MetricType.CONVERSION_RATE, Facts(Decimal(2), 3)) == Decimal("66.67")
    assert rules.achieved_value(MetricType.CONVERSION_RATE, Facts(Decimal(1), 0)) == Decimal("0.00")
    assert rules.achieved_value(MetricType.CUSTOMER_SATISFACTION, Facts(Decimal("13.5"), 4)) == Decimal("3.38")
    assert rules.roll_up([Facts(Decimal(1), 1), Facts(Decimal(0), 3)]) == Facts(Decimal(1), 4)


def test_percentage_is_half_up_to_two_places():
    assert rules.percentage(Decimal("1"), Decimal("8")) == Decimal("12.50")
    assert rules.percentage(Decimal("0.125"), Decimal("1")) == Decimal("12.50")
    assert rules.percentage(Decimal("2"), Decimal("3")) == Decimal("66.67")
    assert rules.percentage(Decimal("1"), Decimal("200")) == Decimal("0.50")
    assert rules.percentage(Decimal("0.00005"), Decimal("1")) == Decimal("0.01")  # 0.005 -> 0.01 (half-up)
    assert rules.percentage(Decimal("10000000"), Decimal("0.01")) == Decimal("99999.99")


def test_status_is_decided_on_the_exact_figures():
    assert rules.live_status(Decimal("999.99"), Decimal("1000")) is TargetStatus.ACTIVE
    assert rules.live_status(Decimal("1000.00"), Decimal("1000")) is TargetStatus.ACHIEVED
    assert rules.closing_status(Decimal("999.99"), Decimal("1000")) is TargetStatus.MISSED
    assert rules.closing_status(Decimal("1000.01"), Decimal("1000")) is TargetStatus.ACHIEVED


def test_target_values_per_metric():
    assert rules.target_value_problem(MetricType.REVENUE, Decimal("0.01")) is None
    assert rules.target_value_problem(MetricType.REVENUE, Decimal("0")) is not None
    assert rules.target_value_problem(MetricType.LEADS_CONTACTED, Decimal("2.50")) is not None
    assert rules.target_value_problem(MetricType.LEADS_CONTACTED, Decimal("2.00")) is None
    assert rules.target_value_problem(MetricType.CONVERSION_RATE, Decimal("100")) is None
    assert rules.target_value_problem(MetricType.CONVERSION_RATE, Decimal("100.01")) is not None
    assert rules.target_value_problem(MetricType.CUSTOMER_SATISFACTION, Decimal("10.01")) is not None


def test_ties_share_a_rank_and_the_next_rank_skips():
    d = Decimal
    assert rules.ranks([(d(90), d(900)), (d(50), d(1000)), (d(50), d(500)), (d(50), d(500)), (d(10), d(1))]) == [
        1, 2, 3, 3, 5]
    assert rules.ranks([(d(1), d(1)), (d(1), d(1)), (d(0), d(0))]) == [1, 1, 3]
    assert rules.ranks([]) == []


def test_city_id_ignores_case_and_spaces():
    assert rules.city_id("Bangalore") == rules.city_id(" bangalore ") != rules.city_id("Pune")
