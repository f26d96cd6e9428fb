"""Published events: written to the outbox in the changing transaction, as CloudEvents 1.0."""
from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Insert, Select, bindparam, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from sales.core.direct import Direct
from sales.core.tables import outbox_events

SOURCE = "/mysqrft/sales"


def envelope(*, event_id: uuid.UUID, type_: str, subject: str, time: datetime, data: Any) -> dict[str, Any]:
    return {
        "specversion": "1.0", "id": str(event_id), "source": SOURCE, "type": type_,
        "time": time.isoformat().replace("+00:00", "Z"), "subject": subject,
        "datacontenttype": "application/json", "data": data,
    }


_DEFERRED = "sales.outbox.deferred"


def row(*, type_: str, subject: Any, data: dict[str, Any], at: datetime) -> dict[str, Any]:
    """One event's `outbox_events` values, for a caller that writes them inside a statement of its own (`record`
    does the same in a statement of its own)."""
    event_id = uuid.uuid4()
    return {"id": event_id, "type": type_, "subject": str(subject), "created_at": at,
            "envelope": envelope(event_id=event_id, type_=type_, subject=str(subject), time=at, data=data)}


def defer_rows(conn: AsyncConnection, rows: list[dict[str, Any]]) -> bool:
    """Add `row()`s to the open `deferred(conn)` block (written at its end, in order); False when none is open."""
    pending = conn.info.get(_DEFERRED)
    if pending is None:
        return False
    pending.extend(rows)
    return True


async def record_rows(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """Queue `row()`s as `record` queues one: kept by the open `deferred(conn)` block, else written now."""
    if not defer_rows(conn, rows):
        await write_rows(conn, rows)


async def record(conn: AsyncConnection, *, type_: str, subject: Any, data: dict[str, Any],
                 at: datetime) -> uuid.UUID:
    """Queue one event; `subject` is the aggregate id and orders delivery per aggregate. Inside `deferred(conn)`
    (or `collecting(conn)`) the row is kept until the block ends and written with the block's other events in
    one INSERT."""
    event = row(type_=type_, subject=subject, data=data, at=at)
    pending = conn.info.get(_DEFERRED)
    if pending is not None:
        pending.append(event)
    else:
        await conn.execute(outbox_events.insert().values(**event))
    return event["id"]


@asynccontextmanager
async def collecting(conn: AsyncConnection) -> AsyncIterator[list[dict[str, Any]] | None]:
    """Keep the events recorded on `conn` inside the block, in order, in the list it yields: the caller writes
    them at its end (`insert_rows` and `rows_params` inside a statement of its own, or `write_rows`). None when an
    outer block keeps them already (they are that block's to write). Nothing is kept when the block raises."""
    if conn.info.get(_DEFERRED) is not None:
        yield None
        return
    pending: list[dict[str, Any]] = []
    conn.info[_DEFERRED] = pending
    try:
        yield pending
    finally:
        conn.info.pop(_DEFERRED, None)


@asynccontextmanager
async def deferred(conn: AsyncConnection) -> AsyncIterator[None]:
    """Collect the events recorded on `conn` inside the block and write them at its end as one INSERT (`insert_rows`),
    in the order they were recorded (so `seq` follows that order, as with one INSERT each). Nothing is written
    when the block raises (its transaction or savepoint is rolled back by the caller). Nested blocks join the
    outermost one."""
    async with collecting(conn) as pending:
        yield
    await write_rows(conn, pending or [])


async def write_rows(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Write `row()`s in one INSERT, in order."""
    if rows:
        await _direct_insert_rows(len(rows)).rows(conn, rows_params(rows))


@lru_cache(maxsize=32)
def _direct_insert_rows(count: int) -> Direct:
    return Direct(insert_rows(count))


_COLUMNS = ("id", "type", "subject", "envelope", "created_at")


@lru_cache(maxsize=32)
def insert_rows(count: int) -> Insert:
    """INSERT of `count` `row()`s, in order (`seq` follows it), from the bound parameters of `rows_params`: one
    SELECT per row joined by UNION ALL, built once per count. Not a multi-row VALUES: SQLAlchemy never caches
    one, so it was compiled again on every execution (issue 19)."""
    return insert_selected(row_selects(count))


def row_selects(count: int, prefix: str = "") -> list[Select]:
    """One SELECT per row of `rows_params(rows, prefix)`, for `insert_selected`."""
    o = outbox_events
    return [select(*(bindparam(f"{prefix}e{i}_{c}", type_=o.c[c].type) for c in _COLUMNS)) for i in range(count)]


def insert_selected(selects: Sequence[Select]) -> Insert:
    """INSERT of the rows `selects` give (`row_selects`, some perhaps with a condition of their own), in order."""
    return outbox_events.insert().from_select(_COLUMNS, selects[0] if len(selects) == 1 else union_all(*selects))


def rows_params(rows: Sequence[dict[str, Any]], prefix: str = "") -> dict[str, Any]:
    return {f"{prefix}e{i}_{c}": row[c] for i, row in enumerate(rows) for c in _COLUMNS}


async def record_many(conn: AsyncConnection, *, type_: str, events: list[tuple[Any, dict[str, Any]]],
                      at: datetime) -> None:
    """Queue many events of one type, `(subject, data)` each, in one multi-row insert (jobs that move thousands
    of rows at once: one statement instead of one per event)."""
    rows = []
    for subject, data in events:
        event_id = uuid.uuid4()
        rows.append({"id": event_id, "type": type_, "subject": str(subject), "created_at": at,
                     "envelope": envelope(event_id=event_id, type_=type_, subject=str(subject), time=at, data=data)})
    for start in range(0, len(rows), _BATCH):
        await conn.execute(outbox_events.insert(), rows[start:start + _BATCH])


_BATCH = 1000
