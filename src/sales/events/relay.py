"""Outbox relay: publish committed outbox rows to JetStream, at least once, in order per aggregate.

- One relay is active at a time (PostgreSQL session advisory lock; on SQLite a file lock): ordering per
  aggregate needs a single publisher; other workers stand by and take over within a second or two.
- Rows are read in commit order (`pos`, see repository.py). Within a batch the events of one aggregate
  (subject) are published one after another, each waiting for the server's ack before the next; different
  aggregates are published concurrently. A failure stops that aggregate's chain for this round, so a later
  event of an aggregate is never stored ahead of an earlier one.
- The event id is the `Nats-Msg-Id`: a re-publish after a crash between ack and commit is dropped by the
  stream's duplicate window. A row is marked published only after its ack; rows are never deleted before.
- While NATS is down the relay backs off exponentially (capped) and the outbox simply grows.
"""
from __future__ import annotations

import asyncio
import fcntl
import os
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from sales.core.clock import wall_now
from sales.core.db import unit_of_work
from sales.core.http import dumps
from sales.core.logging import describe_exception
from sales.events import jetstream, metrics, repository
from sales.events.config import EventSettings

log = structlog.get_logger("sales.events.relay")


@dataclass
class _Chain:
    acked: list[Any] = field(default_factory=list)
    failed: Any = None
    error: str | None = None


class Leadership:
    """Who may relay: a PostgreSQL session advisory lock, or a file lock beside a SQLite database."""

    def __init__(self, engine: AsyncEngine, key: int, name: str) -> None:
        self.engine, self.key, self.name = engine, key, name
        self._conn: AsyncConnection | None = None
        self._file: Any = None
        self.held = False

    async def acquire(self) -> bool:
        if self.held:
            return await self._still_held()
        if self.engine.dialect.name == "postgresql":
            try:
                conn = await self.engine.connect()
                got = (await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key})).scalar()
                await conn.commit()
            except Exception as exc:  # noqa: BLE001 - database away: not leader, retry later
                log.warning("leadership check failed", lock=self.name, error=describe_exception(exc))
                return False
            if not got:
                await conn.close()
                return False
            self._conn = conn
        else:
            path = str(self.engine.url.database or "sales.db") + f".{self.name}.lock"
            handle = open(path, "a+")  # noqa: SIM115 - held for the process lifetime
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.close()
                return False
            self._file = handle
        self.held = True
        log.info("leadership acquired", lock=self.name, pid=os.getpid())
        return True

    async def _still_held(self) -> bool:
        if self._conn is None:
            return True
        try:
            await self._conn.execute(text("SELECT 1"))
            await self._conn.commit()
            return True
        except Exception as exc:  # noqa: BLE001 - the lock died with its connection
            log.warning("leadership lost", lock=self.name, error=describe_exception(exc))
            await self.release()
            return False

    async def release(self) -> None:
        self.held = False
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
                await conn.commit()
            except Exception:  # noqa: BLE001,S110 - closing the connection releases it anyway
                pass
            try:
                await conn.close()
            except Exception:  # noqa: BLE001,S110
                pass
        if self._file is not None:
            self._file.close()
            self._file = None


class OutboxRelay:
    def __init__(self, engine: AsyncEngine, settings: EventSettings, stop: asyncio.Event, *, name: str) -> None:
        self.engine, self.settings, self.stop, self.name = engine, settings, stop, name
        self.leadership = Leadership(engine, repository.RELAY_LOCK, "outbox-relay")
        self.nc: Any = None
        self.js: Any = None
        self.failures = 0
        self.relayed = 0
        self._last_backlog_check = 0.0

    async def run(self) -> None:
        try:
            while not self.stop.is_set():
                if not await self.leadership.acquire():
                    metrics.RELAY_LEADER.set(0)
                    await self._sleep(1.0)
                    continue
                metrics.RELAY_LEADER.set(1)
                try:
                    if self.js is None:
                        await self._connect()
                    n = await self.relay_once()
                except Exception as exc:  # noqa: BLE001 - NATS or database away: back off, keep going
                    await self._backoff(describe_exception(exc))
                    continue
                if n == 0:
                    await self._report_backlog()
                    await self._sleep(self.settings.relay_poll_seconds)
        finally:
            await self.close()

    async def close(self) -> None:
        if self.nc is not None:
            nc, self.nc, self.js = self.nc, None, None
            try:
                await nc.close()
            except Exception:  # noqa: BLE001,S110
                pass
        await self.leadership.release()
        metrics.RELAY_LEADER.set(0)

    async def _connect(self) -> None:
        assert self.settings.nats_url
        if self.nc is None or self.nc.is_closed:
            self.nc = await jetstream.connect(self.settings.nats_url, name=f"sales-relay {self.name}")
        js = self.nc.jetstream(timeout=self.settings.relay_publish_timeout_seconds)
        await jetstream.ensure_stream(js, self.settings.nats_stream, "sales.>",
                                      duplicate_window=self.settings.nats_duplicate_window_seconds)
        self.js = js
        log.info("relay connected", url=self.settings.nats_url, stream=self.settings.nats_stream)

    async def relay_once(self) -> int:
        """Sequence, publish and mark one batch; returns how many events were acknowledged."""
        async with unit_of_work(self.engine) as conn:
            await repository.sequence(conn, limit=self.settings.relay_batch_size * 4)
            rows = await repository.unpublished(conn, limit=self.settings.relay_batch_size)
        if not rows:
            return 0
        by_subject: OrderedDict[str, list[Any]] = OrderedDict()
        for row in rows:
            by_subject.setdefault(row.subject, []).append(row)
        chains = await asyncio.gather(*(self._publish_chain(chain) for chain in by_subject.values()))
        acked = [row for chain in chains for row in chain.acked]
        failed = [chain for chain in chains if chain.failed is not None]
        at = wall_now()
        async with unit_of_work(self.engine) as conn:
            await repository.mark_published(conn, [r.seq for r in acked], at=at)
            await repository.count_failed_attempt(conn, [c.failed.seq for c in failed])
        for row in acked:
            metrics.RELAYED.labels(row.type).inc()
            metrics.RELAY_LAG.observe(max((at - row.created_at).total_seconds(), 0.0))
        self.relayed += len(acked)
        if failed:
            if not acked:
                raise RuntimeError(f"{len(failed)} publish(es) failed: {failed[0].error}")
            log.warning("some publishes failed", failed=len(failed), acked=len(acked), error=failed[0].error)
        else:
            self.failures = 0
        return len(acked)

    async def _publish_chain(self, rows: list[Any]) -> _Chain:
        chain = _Chain()
        for row in rows:
            try:
                await self.js.publish(row.type, dumps(row.envelope), stream=self.settings.nats_stream,
                                      headers={"Nats-Msg-Id": str(row.id),
                                               "Content-Type": "application/cloudevents+json"})
            except Exception as exc:  # noqa: BLE001 - stop this aggregate's chain; retried next round
                metrics.RELAY_FAILURES.labels(type(exc).__name__).inc()
                chain.failed, chain.error = row, repr(exc)
                break
            chain.acked.append(row)
        return chain

    async def _report_backlog(self) -> None:
        loop_now = asyncio.get_running_loop().time()
        if loop_now - self._last_backlog_check < 5:
            return
        self._last_backlog_check = loop_now
        async with self.engine.connect() as conn:
            count, oldest = await repository.backlog(conn)
        metrics.BACKLOG.set(count)
        metrics.OLDEST_AGE.set((wall_now() - oldest).total_seconds() if oldest else 0)

    async def _backoff(self, error: str) -> None:
        self.failures += 1
        delay = min(0.5 * 2 ** (self.failures - 1), self.settings.relay_max_backoff_seconds)
        log.warning("relay retrying", error=error[:300], attempt=self.failures, delay_s=delay)
        if self.nc is not None and self.nc.is_closed:
            self.nc = None
        if self.nc is not None and self.nc.is_connected:
            self.js = None  # NATS answers but publishing failed: check the stream again next round
        await self._sleep(delay)

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self.stop.wait(), timeout=seconds)
        except TimeoutError:
            pass
