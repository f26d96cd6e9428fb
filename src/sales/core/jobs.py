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
    # bounded). `POST /admin/jobs/{job}/run` runs a whole slot in the request's transaction (`run_slot`).
    again: Callable[[dict[str, Any]], bool] | None = None
    max_batches: int = 1


JOBS: dict[str, Job] = {}


def merged_counts(total: dict[str, Any], part: dict[str, Any]) -> dict[str, Any]:
    """The counts of two batches of one job run added up (other values: the last batch's)."""
    merged = {**total, **part}
    for key, value in part.items():
        before = total.get(key)
        if type(value) is int and type(before) is int:
            merged[key] = before + value
    return merged


async def run_slot(job_: Job, conn: AsyncConnection, now: datetime) -> dict[str, Any]:
    """What one slot of `job_` does, batch after batch on one connection (an admin's run now): up to
    `max_batches` while `again` says a batch came back full; the batches' counts summed."""
    result = await job_.run(conn, now)
    batches = 1
    part = result
    while job_.again is not None and batches < job_.max_batches and job_.again(part):
        part = await job_.run(conn, now)
        result = merged_counts(result, part)
        batches += 1
    return result


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
