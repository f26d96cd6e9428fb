"""Registry of periodic jobs; each runs in one unit of work and reports what it did."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from sales.core import idempotency

JobFn = Callable[[AsyncConnection, datetime], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Job:
    name: str
    run: JobFn
    interval_seconds: float
    # `again(result)`: the run filled its batch and more may be waiting. The worker then runs the job again at
    # once in a new unit of work (a short transaction each, so row locks are not held across the whole backlog),
    # until a batch is not full, `max_batches` ran or the job's interval elapsed (what one slot may do stays
    # bounded). `POST /admin/jobs/{job}/run` runs one batch.
    again: Callable[[dict[str, Any]], bool] | None = None
    max_batches: int = 1


JOBS: dict[str, Job] = {}


def job(name: str, *, every: float = 60.0, again: Callable[[dict[str, Any]], bool] | None = None,
        max_batches: int = 1) -> Callable[[JobFn], JobFn]:
    """Register `fn(conn, now) -> {"processed": n, ...}` under a kebab-case name, e.g. "sla-sweep"; `again` and
    `max_batches` (see `Job`) for a job that works through a backlog in short transactions."""

    def register(fn: JobFn) -> JobFn:
        JOBS[name] = Job(name=name, run=fn, interval_seconds=every, again=again, max_batches=max_batches)
        return fn

    return register


@job("idempotency-prune", every=3600)
async def idempotency_prune(conn: AsyncConnection, now: datetime) -> dict[str, Any]:
    """Delete Idempotency-Key records past their expiry (SALES_IDEMPOTENCY_TTL_HOURS) and abandoned claims."""
    return {"processed": await idempotency.prune(conn, now=now)}
