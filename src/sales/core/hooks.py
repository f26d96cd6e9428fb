"""In-process domain hooks: a domain announces a change inside the transaction, others react in it.

Used where one domain must follow another's state synchronously (a closed pipeline frees its RM's capacity)
without importing it: the pipeline domain does not know the allocation domain exists.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

Hook = Callable[..., Awaitable[None]]
_SUBSCRIBERS: dict[str, list[Hook]] = {}


def subscribe(name: str) -> Callable[[Hook], Hook]:
    def register(fn: Hook) -> Hook:
        if fn not in _SUBSCRIBERS.setdefault(name, []):
            _SUBSCRIBERS[name].append(fn)
        return fn

    return register


async def emit(name: str, conn: AsyncConnection, **payload: Any) -> None:
    for fn in _SUBSCRIBERS.get(name, []):
        await fn(conn, **payload)
