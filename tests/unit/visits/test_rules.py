"""Issue 15: visit rules: request times, minutes for the planner, reminders, the haversine matrix."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sales.visits import rules
from sales.visits.travel import HaversineTravelTimes, Point, haversine_km

T = datetime(2026, 1, 18, 8, 0, tzinfo=UTC)


def test_a_time_of_day_is_on_the_plans_date_in_utc():
    assert rules.at(date(2026, 1, 18), "14:30") == datetime(2026, 1, 18, 14, 30, tzinfo=UTC)
    assert rules.at(date(2026, 1, 18), T) == T


def test_owner_windows_shrink_inwards_to_whole_minutes():
    problem = rules.problem(departure=T, window_end=T + timedelta(hours=2), visit_minutes=30, travel=[[0, 5], [5, 0]],
                            stops=[rules.StopInput(windows=(
                                (T + timedelta(seconds=90), T + timedelta(minutes=50, seconds=30)),))])
    assert problem.windows == [((2, 50),)] and problem.horizon == 120


def test_reminders_24h_then_1h_before_the_start():
    start = T + timedelta(days=1)
    assert not rules.reminder_due("24h", start_at=start, now=start - timedelta(hours=25))
    assert rules.reminder_due("24h", start_at=start, now=start - timedelta(hours=24))
    assert not rules.reminder_due("24h", start_at=start, now=start - timedelta(minutes=59))
    assert rules.reminder_due("1h", start_at=start, now=start - timedelta(minutes=59))
    assert not rules.reminder_due("1h", start_at=start, now=start)


def test_a_replan_departs_now_to_the_next_minute_once_the_day_began():
    assert rules.departure_for_replan(T, T - timedelta(hours=3)) == T
    assert rules.departure_for_replan(T, T + timedelta(minutes=10, seconds=5)) == T + timedelta(minutes=11)


def test_haversine_minutes_at_the_city_speed():
    a, b = Point(12.93, 77.62), Point(12.94, 77.62)
    assert round(haversine_km(a, b), 3) == 1.112
    assert HaversineTravelTimes(speed_kmh=20).minutes([a, b]) == [[0, 4], [4, 0]]  # 3.34 minutes, rounded up
    assert HaversineTravelTimes(speed_kmh=40).minutes([a, b]) == [[0, 2], [2, 0]]
