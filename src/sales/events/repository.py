"""The only place the event backbone's SQL lives: outbox sequencing, feed and relay reads, inbox, job slots.

Commit order. `outbox_events.seq` is handed out when a row is inserted, but on PostgreSQL concurrent
transactions commit in any order: a reader paging by `seq` could pass seq 7 (committed) while seq 6 is
still in flight, and never see 6. So readers never page by `seq`. The sequencer gives every *visible*
(committed) row a `pos` = max(pos)+1.. in one statement, serialized by a transaction-scoped advisory
lock; a row that commits later always gets a larger `pos` than every row already sequenced. The feed and
the relay read in `pos` order only. Events of one aggregate are written under that aggregate's row lock,
so they commit, get `pos`, and are delivered in the order they happened. On SQLite writers are
serialized, so the same statement simply reproduces commit order.
"""
from __future__ import annotations

import json
import zlib
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from sales.core.db import dialect_insert, is_postgres
from sales.core.http import dumps
from sales.core.pii import cipher
from sales.core.tables import inbox_events, outbox_events as o
from sales.events.models import worker_jobs

# Advisory lock keys (PostgreSQL bigint keys; arbitrary but fixed).
SEQUENCER_LOCK = 0x5A1E5_0E0001
RELAY_LOCK = 0x5A1E5_0E0002
JOB_LOCK_BASE = 0x5A1E5_0F0000

_SEQUENCE = """
WITH base AS (SELECT COALESCE(MAX(pos), 0) AS b FROM outbox_events),
todo AS (SELECT seq, row_number() OVER (ORDER BY seq) AS rn FROM outbox_events
         WHERE pos IS NULL ORDER BY seq LIMIT :n)
UPDATE outbox_events SET pos = (SELECT b FROM base) + todo.rn FROM todo WHERE outbox_events.seq = todo.seq
"""


async def sequence(conn: AsyncConnection, *, limit: int = 5000) -> int:
    """Give committed, unsequenced outbox rows their commit-ordered `pos`; returns how many."""
    if is_postgres(conn):
        await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SEQUENCER_LOCK})
    result = await conn.execute(text(_SEQUENCE), {"n": limit})
    return result.rowcount or 0


async def position_of(conn: AsyncConnection, event_id: Any) -> int | None:
    return (await conn.execute(select(o.c.pos).where(o.c.id == event_id))).scalar()


async def feed(conn: AsyncConnection, *, after_pos: int, limit: int) -> list[Any]:
    query = (select(o.c.pos, o.c.id, o.c.envelope).where(o.c.pos > after_pos)
             .order_by(o.c.pos).limit(limit))
    return list((await conn.execute(query)).all())


async def unpublished(conn: AsyncConnection, *, limit: int) -> list[Any]:
    query = (select(o.c.seq, o.c.pos, o.c.id, o.c.type, o.c.subject, o.c.envelope, o.c.created_at)
             .where(o.c.published_at.is_(None), o.c.pos.is_not(None)).order_by(o.c.pos).limit(limit))
    return list((await conn.execute(query)).all())


async def mark_published(conn: AsyncConnection, seqs: list[int], *, at: datetime) -> None:
    if seqs:
        await conn.execute(update(o).where(o.c.seq.in_(seqs), o.c.published_at.is_(None))
                           .values(published_at=at, attempts=o.c.attempts + 1))


async def count_failed_attempt(conn: AsyncConnection, seqs: list[int]) -> None:
    if seqs:
        await conn.execute(update(o).where(o.c.seq.in_(seqs)).values(attempts=o.c.attempts + 1))


async def backlog(conn: AsyncConnection) -> tuple[int, datetime | None]:
    row = (await conn.execute(select(func.count(), func.min(o.c.created_at))
                              .where(o.c.published_at.is_(None)))).one()
    return int(row[0]), row[1]


async def prune_outbox(conn: AsyncConnection, *, before: datetime, published_only: bool) -> int:
    cond = [o.c.created_at < before, o.c.pos.is_not(None)]
    if published_only:
        cond.append(o.c.published_at.is_not(None))
    return (await conn.execute(o.delete().where(*cond))).rowcount or 0


# --- inbox -------------------------------------------------------------------------------------

async def insert_inbox_if_absent(conn: AsyncConnection, values: dict[str, Any], *, envelope: Any) -> bool:
    """Keep a consumed event once per id; its envelope is stored encrypted (it carries customer PII)."""
    sealed = cipher().encrypt(dumps(envelope).decode())
    result = await conn.execute(dialect_insert(conn, inbox_events).values(**values, sealed_envelope=sealed)
                                .on_conflict_do_nothing(index_elements=["id"]))
    return bool(result.rowcount)


def envelope_of(row: Any) -> Any:
    """An inbox row's envelope, decrypted; JSON numbers with a fraction come back as Decimal."""
    return json.loads(cipher().decrypt(row.sealed_envelope), parse_float=Decimal)


async def get_inbox(conn: AsyncConnection, event_id: str, *, for_update: bool = False) -> Any:
    query = select(inbox_events).where(inbox_events.c.id == event_id)
    if for_update and is_postgres(conn):
        query = query.with_for_update()
    return (await conn.execute(query)).first()


async def update_inbox(conn: AsyncConnection, event_id: str, values: dict[str, Any]) -> None:
    await conn.execute(update(inbox_events).where(inbox_events.c.id == event_id).values(**values))


async def due_failed(conn: AsyncConnection, *, now: datetime, limit: int) -> list[Any]:
    i = inbox_events
    query = (select(i).where(i.c.status == "FAILED", i.c.next_attempt_at <= now)
             .order_by(i.c.next_attempt_at).limit(limit))
    if is_postgres(conn):
        query = query.with_for_update(skip_locked=True)
    return list((await conn.execute(query)).all())


async def list_inbox(conn: AsyncConnection, *, status: str, limit: int,
                     after: tuple[datetime, str] | None) -> list[Any]:
    i = inbox_events
    query = select(i).where(i.c.status == status)
    if after:
        query = query.where(or_(i.c.received_at > after[0], and_(i.c.received_at == after[0], i.c.id > after[1])))
    return list((await conn.execute(query.order_by(i.c.received_at, i.c.id).limit(limit + 1))).all())


async def prune_inbox(conn: AsyncConnection, *, before: datetime) -> int:
    i = inbox_events
    return (await conn.execute(i.delete().where(i.c.status.in_(("PROCESSED", "IGNORED")),
                                                i.c.processed_at < before))).rowcount or 0


# --- worker job slots --------------------------------------------------------------------------

async def ensure_job(conn: AsyncConnection, name: str, *, next_run_at: datetime) -> None:
    await conn.execute(dialect_insert(conn, worker_jobs).values(name=name, next_run_at=next_run_at)
                       .on_conflict_do_nothing(index_elements=["name"]))


async def claim_job(conn: AsyncConnection, name: str, *, now: datetime, next_run_at: datetime,
                    worker: str) -> bool:
    """Take the job's due slot; exactly one of several workers wins it."""
    result = await conn.execute(update(worker_jobs).where(worker_jobs.c.name == name,
                                                          worker_jobs.c.next_run_at <= now)
                                .values(next_run_at=next_run_at, last_started_at=now, last_worker=worker))
    return result.rowcount == 1


async def try_job_lock(conn: AsyncConnection, name: str) -> bool:
    """PostgreSQL: a transaction-scoped lock so a slow run never overlaps the next slot's run."""
    if not is_postgres(conn):
        return True
    key = (JOB_LOCK_BASE << 16) + zlib.crc32(name.encode())
    return bool((await conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": key})).scalar())


async def finish_job(conn: AsyncConnection, name: str, *, at: datetime, ok: bool, result: Any,
                     error: str | None) -> None:
    values: dict[str, Any] = {"last_finished_at": at, "last_status": "OK" if ok else "FAILED",
                              "last_result": result, "last_error": error, "runs": worker_jobs.c.runs + 1}
    if not ok:
        values["failures"] = worker_jobs.c.failures + 1
    await conn.execute(update(worker_jobs).where(worker_jobs.c.name == name).values(**values))
