"""Periodic work of the event backbone, run by `sales worker` (and on demand by the admin jobs endpoint)."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from sales.core.jobs import job
from sales.events import inbox, repository
from sales.events.config import get_event_settings


def retry_policy() -> inbox.RetryPolicy:
    s = get_event_settings()
    return inbox.RetryPolicy(max_attempts=s.events_max_attempts, base_seconds=s.events_retry_base_seconds,
                             max_seconds=s.events_retry_max_seconds)


@job("inbox-retry", every=5)
async def inbox_retry(conn: AsyncConnection, now: datetime) -> dict[str, Any]:
    """Retry consumed events whose handler failed, once their backoff has elapsed."""
    return {"processed": await inbox.retry_due(conn, now=now, policy=retry_policy())}


@job("events-prune", every=3600)
async def events_prune(conn: AsyncConnection, now: datetime) -> dict[str, Any]:
    """Delete outbox rows (published, or served by the feed when there is no NATS) and handled inbox rows
    older than the retention period."""
    s = get_event_settings()
    before = now - timedelta(days=s.events_retention_days)
    outbox_rows = await repository.prune_outbox(conn, before=before, published_only=bool(s.nats_url))
    inbox_rows = await repository.prune_inbox(conn, before=before)
    return {"processed": outbox_rows + inbox_rows, "outbox": outbox_rows, "inbox": inbox_rows}
