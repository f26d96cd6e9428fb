"""`sales worker` as a process: job slots run once across workers, metrics, clean SIGTERM."""
from __future__ import annotations

import asyncio
import signal
import time

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from sales.events.models import worker_jobs
from tests.e2e.event_harness import free_port, pg_url, start_worker  # noqa: F401

pytestmark = pytest.mark.e2e


async def test_two_workers_run_each_job_slot_once_and_stop_cleanly(pg_url, tmp_path):  # noqa: F811
    port = free_port()
    env = {"SALES_WORKER_JOB_INTERVALS": "events-prune=1"}
    first = start_worker(tmp_path, pg_url, None, name="a", SALES_WORKER_METRICS_PORT=str(port), **env)
    second = start_worker(tmp_path, pg_url, None, name="b", **env)
    try:
        deadline = time.monotonic() + 30
        while not any(line.get("event") == "worker started" for line in first.lines() + second.lines()) or \
                not all(any(line.get("event") == "worker started" for line in w.lines()) for w in (first, second)):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.1)
        started = time.monotonic()
        await asyncio.sleep(6)
        elapsed = time.monotonic() - started
        async with httpx.AsyncClient() as client:
            metrics = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
        assert "sales_job_runs_total" in metrics and "sales_outbox_relay_leader" in metrics
    finally:
        codes = [w.kill(signal.SIGTERM) for w in (first, second)]
    assert codes == [0, 0]
    runs = [line for w in (first, second) for line in w.lines()
            if line.get("event") == "job ran" and line.get("job") == "events-prune"]
    assert len(runs) <= elapsed / 1 + 3, f"{len(runs)} runs of a 1 s job in {elapsed:.1f}s: a slot ran twice"
    assert len(runs) >= 3
    engine = create_async_engine(pg_url)
    async with engine.connect() as conn:
        row = (await conn.execute(select(worker_jobs).where(worker_jobs.c.name == "events-prune"))).one()
    await engine.dispose()
    assert row.runs == len(runs) and row.last_status == "OK" and row.failures == 0
    assert all(any(line.get("event") == "worker stopped" for line in w.lines()) for w in (first, second))
