"""core.hooks (issue 19): a subscriber's Ride, carried by the announcer's statement, is continued by `then` with
what it returned; subscribers whose ride was not carried (SQLite) are called as before; order is kept."""
from __future__ import annotations

from typing import Any

from sales.core import hooks

NAME = "test.rides.changed"


def _ride(*, value: int, **_: Any) -> hooks.Ride:
    async def then(conn: Any, row: Any) -> None:
        calls.append(("then", row))

    return hooks.Ride(key="test.ride", build=lambda prefix: None, params={"value": value}, then=then)


calls: list[tuple[str, Any]] = []


@hooks.subscribe(NAME, ride=_ride)
async def _riding(conn: Any, *, value: int) -> None:
    calls.append(("riding", value))


@hooks.subscribe(NAME)
async def _plain(conn: Any, *, value: int) -> None:
    calls.append(("plain", value))


async def test_a_carried_ride_is_continued_by_then_and_the_others_are_called() -> None:
    calls.clear()
    rides = hooks.rides(NAME, value=7)
    assert list(rides) == [_riding] and rides[_riding].params == {"value": 7}
    await hooks.emit(NAME, None, ridden={_riding: (rides[_riding], "returned row")}, value=7)  # type: ignore[arg-type]
    assert calls == [("then", "returned row"), ("plain", 7)]


async def test_without_carried_rides_every_subscriber_is_called() -> None:
    calls.clear()
    await hooks.emit(NAME, None, value=3)  # type: ignore[arg-type]
    assert calls == [("riding", 3), ("plain", 3)]
