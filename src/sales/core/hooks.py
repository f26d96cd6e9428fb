"""In-process domain hooks: a domain announces a change inside the transaction, others react in it.

Used where one domain must follow another's state synchronously (a closed pipeline frees its RM's capacity)
without importing it: the pipeline domain does not know the allocation domain exists.

A subscriber may also offer a `Ride`: its first write as a data-modifying CTE that the announcing domain's own
statement carries on PostgreSQL (one round trip fewer, issue 19). The announcer collects the rides (`rides`) before
its statement and passes what they returned to `emit`, which then continues each ridden subscriber with its ride's
`then` instead of calling it.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

Hook = Callable[..., Awaitable[None]]
_SUBSCRIBERS: dict[str, list[Hook]] = {}


@dataclass(frozen=True)
class Ride:
    """A subscriber's first write, carried by the announcer's statement. `build(prefix)` makes it (once per `key`) as
    a CTE with RETURNING, its CTE names and parameters starting with `prefix`; `params` are its values by unprefixed
    name; `then(conn, row)` does the rest with the row it returned (None when it returned none)."""
    key: Hashable
    build: Callable[[str], Any]
    params: Mapping[str, Any]
    then: Callable[[AsyncConnection, Any], Awaitable[None]]


Rider = Callable[..., Ride]
_RIDERS: dict[str, dict[Hook, Rider]] = {}
# What the announcer's statement returned for each ride it carried: the subscriber -> (its ride, the returned row).
Ridden = Mapping[Hook, tuple[Ride, Any]]


def subscribe(name: str, *, ride: Rider | None = None) -> Callable[[Hook], Hook]:
    """`ride(**payload)`, when given, makes the subscriber's Ride for an announcer whose statement can carry it."""
    def register(fn: Hook) -> Hook:
        if fn not in _SUBSCRIBERS.setdefault(name, []):
            _SUBSCRIBERS[name].append(fn)
        if ride is not None:
            _RIDERS.setdefault(name, {})[fn] = ride
        return fn

    return register


def rides(name: str, **payload: Any) -> dict[Hook, Ride]:
    """The rides the subscribers to `name` offer for this change."""
    return {fn: ride(**payload) for fn, ride in _RIDERS.get(name, {}).items()}


async def emit(name: str, conn: AsyncConnection, *, ridden: Ridden | None = None, **payload: Any) -> None:
    for fn in _SUBSCRIBERS.get(name, []):
        if ridden and fn in ridden:
            ride, row = ridden[fn]
            await ride.then(conn, row)
        else:
            await fn(conn, **payload)
