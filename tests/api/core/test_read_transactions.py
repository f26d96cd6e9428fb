"""Issue 19: a read request's plain SELECTs run without BEGIN/COMMIT on PostgreSQL; its first other statement
starts the transaction, so what it writes is still all-or-nothing with the request."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, text, update

from sales.core.db import LazyTransaction, unit_of_work
from sales.core.tables import clock_state

AT = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


async def _in_transaction(conn) -> bool:  # type: ignore[no-untyped-def]
    return (await conn.get_raw_connection()).dbapi_connection._transaction is not None


async def _frozen_at(engine):  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        return (await conn.execute(select(clock_state.c.frozen_at).where(clock_state.c.id == 1))).scalar()


async def _clock_row(engine) -> None:  # type: ignore[no-untyped-def]
    async with unit_of_work(engine) as conn:
        await conn.execute(clock_state.insert().values(id=1, frozen_at=None))


async def test_read_request_selects_without_transaction_then_writes_in_one(engine, backend) -> None:
    await _clock_row(engine)
    uow = LazyTransaction(engine, writes=False)
    conn = await uow.connection()
    assert (await conn.execute(text("SELECT 1"))).scalar() == 1
    if backend == "postgres":
        assert not await _in_transaction(conn)  # no BEGIN for a plain SELECT
    await conn.execute(update(clock_state).where(clock_state.c.id == 1).values(frozen_at=AT))
    if backend == "postgres":
        assert await _in_transaction(conn)  # the write started the transaction
    await uow.finish(commit=False)  # the request failed: nothing it wrote stays
    assert await _frozen_at(engine) is None


async def test_write_after_reads_is_committed_with_the_request(engine) -> None:
    await _clock_row(engine)
    uow = LazyTransaction(engine, writes=False)
    conn = await uow.connection()
    await conn.execute(select(clock_state.c.frozen_at))
    await conn.execute(update(clock_state).where(clock_state.c.id == 1).values(frozen_at=AT))
    await uow.finish(commit=True)
    assert await _frozen_at(engine) == AT


async def test_row_lock_in_a_read_request_is_held_in_a_transaction(engine, backend) -> None:
    """SELECT ... FOR UPDATE is not a plain SELECT: it starts the transaction, so the lock lasts until the end."""
    await _clock_row(engine)
    uow = LazyTransaction(engine, writes=False)
    conn = await uow.connection()
    await conn.execute(select(clock_state.c.id).with_for_update())
    if backend == "postgres":
        assert await _in_transaction(conn)
    await uow.finish(commit=False)


async def test_connections_go_back_to_the_pool_with_transactions_on(engine, backend) -> None:
    await _clock_row(engine)
    reader = LazyTransaction(engine, writes=False)
    await (await reader.connection()).execute(text("SELECT 1"))
    await reader.finish(commit=True)
    # a write request (or a job) on the next connection out of the pool gets its BEGIN as always
    writer = LazyTransaction(engine, writes=True)
    conn = await writer.connection()
    await conn.execute(text("SELECT 1"))
    if backend == "postgres":
        assert await _in_transaction(conn)
    await writer.finish(commit=False)
