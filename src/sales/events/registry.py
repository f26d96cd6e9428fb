"""Handlers of consumed events, registered by type: `@handles("leads.lead.created")`.

A handler gets the transaction's connection and a `ConsumedEvent`; it must be idempotent only against
its own partial failure (the inbox already guarantees at most one successful run per event id), and it
never commits. Raising `Unprocessable` (or `InvalidInput` / a pydantic ValidationError) parks the event
at once: retrying cannot help. Any other exception is retried with backoff and parked after N attempts.
"""
from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
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

HANDLERS: dict[str, Handler] = {}


class Unprocessable(Exception):
    """The event can never be handled as it is (bad data): park it without retrying."""


def handles(type_: str) -> Callable[[Handler], Handler]:
    """Register the handler of one consumed event type (one handler per type)."""

    def register(fn: Handler) -> Handler:
        if type_ in HANDLERS and HANDLERS[type_] is not fn:
            raise RuntimeError(f"a handler for {type_!r} is already registered")
        HANDLERS[type_] = fn
        return fn

    return register


def handler_for(type_: str) -> Handler | None:
    load_handlers()
    return HANDLERS.get(type_)


def load_handlers() -> None:
    """Import the modules that register handlers (idempotent)."""
    from sales.events import handlers  # noqa: F401
