"""`sales worker`: the outbox relay, the JetStream consumers and every periodic job, in one process.

Several workers may run at once: the relay is active in one of them (advisory lock), each job's due slot
is claimed by exactly one (conditional UPDATE on worker_jobs, plus an advisory lock against overlap), and
JetStream spreads consumed events over them. On SQLite run one worker (a file lock enforces it).
SIGTERM/SIGINT: stop taking new work, finish the batch or job run in hand, then exit 0.
"""
from __future__ import annotations

import asyncio
import importlib
import os
import pkgutil
import signal
import socket
import time
from datetime import timedelta
from typing import Any

import orjson
import structlog
from prometheus_client import start_http_server
from sqlalchemy.ext.asyncio import AsyncEngine

import sales
from sales.core.clock import business_now, wall_now
from sales.core.db import create_engine, unit_of_work
from sales.core.http import dumps
from sales.core.jobs import JOBS, Job, merged_counts
from sales.core.logging import configure_logging, describe_exception
from sales.events import metrics, repository
from sales.events.config import EventSettings
from sales.events.consumer import InboundConsumer
from sales.events.relay import Leadership, OutboxRelay
from sales.settings import Settings

log = structlog.get_logger("sales.worker")

SQLITE_WORKER_LOCK = 0  # unused key; SQLite uses a file lock named "worker"


def discover_jobs() -> dict[str, Job]:
    """Import every `sales.<domain>.jobs` module so their `@job` registrations run."""
    for module in pkgutil.iter_modules(sales.__path__):
        if module.ispkg:
            try:
                importlib.import_module(f"sales.{module.name}.jobs")
            except ModuleNotFoundError as exc:
                if exc.name != f"sales.{module.name}.jobs":
                    raise
    return dict(JOBS)


class Worker:
    def __init__(self, settings: Settings, events: EventSettings, *, relay: bool = True, jobs: bool = True,
                 consume: bool = True, engine: AsyncEngine | None = None) -> None:
        self.settings, self.events = settings, events
        self.engine = engine or create_engine(settings, pool_size=5)
        self.stop = asyncio.Event()
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self.enable_relay = relay and bool(events.nats_url)
        self.enable_consume = consume and bool(events.nats_url)
        self.enable_jobs = jobs
        self.relay: OutboxRelay | None = None
        self.consumer: InboundConsumer | None = None

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._request_stop, sig)
        single: Leadership | None = None
        if self.settings.is_sqlite:
            single = Leadership(self.engine, SQLITE_WORKER_LOCK, "worker")
            if not await single.acquire():
                log.error("another sales worker is running against this SQLite database; SQLite allows one")
                await self.engine.dispose()
                return 1
        tasks: list[asyncio.Task[Any]] = []
        if self.enable_relay:
            self.relay = OutboxRelay(self.engine, self.events, self.stop, name=self.name)
            tasks.append(asyncio.create_task(self.relay.run(), name="relay"))
        if self.enable_consume:
            self.consumer = InboundConsumer(self.engine, self.events, self.stop, name=self.name,
                                            frozen_clock_allowed=not self.settings.is_production)
            tasks.append(asyncio.create_task(self.consumer.run(), name="consumer"))
        if self.enable_jobs:
            overrides = self.events.job_intervals
            for job in discover_jobs().values():
                interval = overrides.get(job.name, job.interval_seconds)
                tasks.append(asyncio.create_task(self._job_loop(job, interval), name=f"job:{job.name}"))
        log.info("worker started", worker=self.name, relay=self.enable_relay, consume=self.enable_consume,
                 jobs=sorted(JOBS) if self.enable_jobs else [], nats=bool(self.events.nats_url))
        await self.stop.wait()
        done, pending = await asyncio.wait(tasks, timeout=self.events.worker_shutdown_grace_seconds)
        for task in pending:
            log.warning("task did not finish in the grace period; cancelled", task=task.get_name())
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for task in done:
            if task.exception() is not None:
                log.error("task failed", task=task.get_name(), error=describe_exception(task.exception()))
        if single is not None:
            await single.release()
        await self.engine.dispose()
        log.info("worker stopped", worker=self.name, relayed=self.relay.relayed if self.relay else 0)
        return 0

    def _request_stop(self, sig: signal.Signals) -> None:
        log.info("stopping", signal=sig.name)
        self.stop.set()

    async def _job_loop(self, job: Job, interval: float) -> None:
        try:
            async with unit_of_work(self.engine) as conn:
                await repository.ensure_job(conn, job.name, next_run_at=wall_now())
        except Exception as exc:  # noqa: BLE001 - the row may exist already / DB away: claims below retry
            log.warning("job registration failed", job=job.name, error=describe_exception(exc))
        poll = min(interval, 5.0)
        while not self.stop.is_set():
            try:
                now = wall_now()
                async with unit_of_work(self.engine) as conn:
                    claimed = await repository.claim_job(conn, job.name, now=now, worker=self.name,
                                                         next_run_at=now + timedelta(seconds=interval))
                if claimed:
                    await self.run_job(job, budget=interval)
            except Exception as exc:  # noqa: BLE001 - database away: try again next poll
                log.warning("job scheduling failed", job=job.name, error=describe_exception(exc))
            try:
                await asyncio.wait_for(self.stop.wait(), timeout=poll)
            except TimeoutError:
                pass

    async def run_job(self, job: Job, *, budget: float | None = None) -> dict[str, Any] | None:
        """Run `job` in a unit of work; while it reports a full batch (`job.again`), run it again in a new one,
        up to `job.max_batches` batches and for at most `budget` seconds (default: its interval). The batches'
        counts are summed."""
        started = time.perf_counter()
        budget = job.interval_seconds if budget is None else budget
        result: dict[str, Any] | None = None
        error: str | None = None
        batches = 0
        try:
            while True:
                async with unit_of_work(self.engine) as conn:
                    if not await repository.try_job_lock(conn, job.name):
                        if batches == 0:
                            log.info("job still running elsewhere; slot skipped", job=job.name)
                            return None
                        break
                    now = await business_now(conn, frozen_allowed=not self.settings.is_production)
                    part = orjson.loads(dumps(await job.run(conn, now)))
                batches += 1
                result = part if result is None else merged_counts(result, part)
                if (job.again is None or batches >= job.max_batches or not job.again(part)
                        or self.stop.is_set() or time.perf_counter() - started >= budget):
                    break
        except Exception as exc:  # noqa: BLE001 - a failing job is recorded and retried next slot
            error = describe_exception(exc)
        if result is not None and batches > 1:
            result["batches"] = batches
        elapsed = time.perf_counter() - started
        metrics.JOB_DURATION.labels(job.name).observe(elapsed)
        metrics.JOB_RUNS.labels(job.name, "ok" if error is None else "failed").inc()
        if error is None:
            log.info("job ran", job=job.name, ms=round(elapsed * 1000, 1), **(result or {}))
        else:
            metrics.JOB_FAILURES.labels(job.name).inc()
            log.error("job failed", job=job.name, ms=round(elapsed * 1000, 1), error=error[:500])
        try:
            async with unit_of_work(self.engine) as conn:
                await repository.finish_job(conn, job.name, at=wall_now(), ok=error is None, result=result,
                                            error=error)
        except Exception as exc:  # noqa: BLE001
            log.warning("job result not recorded", job=job.name, error=describe_exception(exc))
        return result


def main(settings: Settings, events: EventSettings, *, relay: bool, jobs: bool, consume: bool) -> int:
    configure_logging(settings.log_level, json=settings.log_json)
    if events.worker_metrics_port:
        start_http_server(events.worker_metrics_port, addr=events.worker_metrics_host)
        log.info("metrics served", port=events.worker_metrics_port)
    return asyncio.run(Worker(settings, events, relay=relay, jobs=jobs, consume=consume).run())
