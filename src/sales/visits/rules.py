"""Pure visit rules (issue 15): times of the request, owner windows, minutes for the planner and back, reminders.
No I/O."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sales.visits import planner

MAX_DAY = timedelta(hours=24)
REMINDERS = {"24h": timedelta(hours=24), "1h": timedelta(hours=1)}  # before a visit's start
FOLLOW_UP_AFTER = timedelta(hours=24)  # the follow-up task after the last visit is due a day later


def at(day: date, value: datetime | str) -> datetime:
    """A request time: an instant as given, or a time of day (HH:MM[:SS], UTC) on the plan's date."""
    if isinstance(value, datetime):
        return value
    return datetime.combine(day, time.fromisoformat(value), tzinfo=UTC)


@dataclass(frozen=True)
class StopInput:
    windows: tuple[tuple[datetime, datetime], ...]  # owner windows; () = any time


def minutes_after(origin: datetime, instant: datetime, *, up: bool) -> int:
    seconds = (instant - origin).total_seconds() / 60
    return math.ceil(seconds - 1e-9) if up else math.floor(seconds + 1e-9)


def problem(*, departure: datetime, window_end: datetime, visit_minutes: int, travel: list[list[int]],
            stops: list[StopInput]) -> planner.Problem:
    """The planner's problem in whole minutes after `departure`; owner windows are shrunk inwards to minutes."""
    # A window outside the day stays a window (one that cannot be met), never "any time".
    windows = [tuple((minutes_after(departure, s, up=True), minutes_after(departure, e, up=False))
                     for s, e in stop.windows) for stop in stops]
    return planner.Problem(travel=travel, windows=windows, visit_minutes=visit_minutes,
                           horizon=max(minutes_after(departure, window_end, up=False), 0))


def dropped_reason(problem_: planner.Problem, stop: int) -> str:
    if planner.reachable_alone(problem_, stop):
        return "its owner window cannot be met together with the other stops"
    return "its owner window cannot be met within the customer's window, even as the only visit"


def clock(departure: datetime, minutes: int) -> datetime:
    return departure + timedelta(minutes=minutes)


def departure_for_replan(window_start: datetime, now: datetime) -> datetime:
    """A re-plan starts at the customer's window or now (to the next whole minute), whichever is later."""
    if now <= window_start:
        return window_start
    return (now + timedelta(seconds=59)).replace(second=0, microsecond=0)


def reminder_due(kind: str, *, start_at: datetime, now: datetime) -> bool:
    """The 24 h reminder is due from 24 h before the visit until the 1 h one takes over; the 1 h one until the
    visit starts. A visit planned less than an hour ahead gets only the 1 h reminder."""
    if now >= start_at:
        return False
    if kind == "1h":
        return now >= start_at - REMINDERS["1h"]
    return start_at - REMINDERS["24h"] <= now < start_at - REMINDERS["1h"]
