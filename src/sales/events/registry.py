"""Handlers of consumed events, registered by type: `@handles("leads.lead.created")`.

Each domain registers its own handlers in its own `handlers.py` (`sales/<domain>/handlers.py`), found by
`load_handlers()` without a central list; any number of handlers may react to one type. All handlers of one
event run in the event's one transaction, in a stable order (by module, then function name): they all
succeed, or the event is retried / parked as a whole.

A handler gets the transaction's connection and a `ConsumedEvent`; it must be idempotent only against
its own partial failure (the inbox already guarantees at most one successful run per event id), and it
never commits. Raising `Unprocessable` (or `InvalidInput` / a pydantic ValidationError) parks the event
at once: retrying cannot help. Any other exception is retried with backoff and parked after N attempts.
"""
from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from sales.core.auth import Principal, Role

# The principal consumed events act as (audit rows show this actor with role SERVICE).
CONSUMER = Principal(sub=uuid.UUID("00000000-0000-4000-8000-0000000e7e00"), roles=frozenset({Role.SERVICE}),
                     name="sales-event-consumer")


@dataclass(frozen=True)
class ConsumedEvent:
    id: str
    type: str
    source: str
    subject: str | None
    time: str | None
    data: Any
    envelope: dict[str, Any]
    now: datetime
    principal: Principal = CONSUMER


Handler = Callable[[AsyncConnection, ConsumedEvent], Awaitable[Any]]

_HANDLERS: dict[str, list[Handler]] = {}


class Unprocessable(Exception):
    """The event can never be handled as it is (bad data): park it without retrying."""


def _order(fn: Handler) -> tuple[str, str]:
    return fn.__module__, fn.__qualname__


def handles(type_: str) -> Callable[[Handler], Handler]:
    """Register one more handler of a consumed event type."""

    def register(fn: Handler) -> Handler:
        registered = _HANDLERS.setdefault(type_, [])
        if fn not in registered:
            registered.append(fn)
            registered.sort(key=_order)
        return fn

    return register


def handlers_for(type_: str) -> list[Handler]:
    """Every handler of `type_` in their stable order; empty when no domain consumes it."""
    load_handlers()
    return list(_HANDLERS.get(type_, ()))


@cache
def load_handlers() -> None:
    """Import every domain's `handlers` module (`sales.<domain>.handlers`) once."""
    import sales

    for domain in pkgutil.iter_modules(sales.__path__):
        if domain.ispkg and importlib.util.find_spec(f"sales.{domain.name}.handlers") is not None:
            importlib.import_module(f"sales.{domain.name}.handlers")
