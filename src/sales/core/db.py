"""Engine and the unit of work: one connection and one transaction per request or job."""
from __future__ import annotations

import json
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

from sqlalchemy import event, exc as sa_exc, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncTransaction, create_async_engine

from sales.settings import Settings

# SQLite stores NUMERIC as REAL; MoneyType re-quantizes on read (see core/types.py).
warnings.filterwarnings("ignore", category=sa_exc.SAWarning, message=".*Decimal objects natively.*")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _json_dumps(value: Any) -> str:
    from sales.core.http import dumps
    return dumps(value).decode()


def _json_loads(text: str) -> Any:
    return json.loads(text, parse_float=Decimal)


# JSON columns (event envelopes, audit snapshots, decision traces) keep money exact: Decimal in, the same
# digits out (25000.00 stays 25000.00), never a float round trip.
JSON_CODEC = {"json_serializer": _json_dumps, "json_deserializer": _json_loads}


def create_engine(settings: Settings, *, url: str | None = None, pool_size: int | None = None) -> AsyncEngine:
    url = url or settings.database_url
    if url.startswith("sqlite"):
        engine = create_async_engine(url, hide_parameters=True, **JSON_CODEC)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        # aiosqlite opens transactions lazily; BEGIN IMMEDIATE on write is handled by busy_timeout.
        return engine
    size = pool_size or settings.db_pool_size
    return create_async_engine(url, pool_size=size, max_overflow=size, pool_pre_ping=False, pool_timeout=5, **JSON_CODEC,
                               connect_args={"server_settings": {"timezone": "UTC"}}, hide_parameters=True)


def is_postgres(conn: AsyncConnection) -> bool:
    return conn.dialect.name == "postgresql"


@asynccontextmanager
async def unit_of_work(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """Commit when the block succeeds, roll back when it raises. Services never commit."""
    async with engine.begin() as conn:
        yield conn


async def savepoint(conn: AsyncConnection) -> AsyncTransaction:
    """A SAVEPOINT inside the current transaction, on both databases.

    pysqlite begins its transaction lazily, at the first write; a SAVEPOINT taken before any write starts a
    transaction of its own whose RELEASE commits, so a later rollback would not undo it. On SQLite a write
    that matches no row opens the real transaction first."""
    if conn.dialect.name == "sqlite":
        await conn.execute(text("UPDATE clock_state SET id = id WHERE 0"))
    return await conn.begin_nested()


class LazyTransaction:
    """A request's connection, opened on first use; the UnitOfWork middleware ends it."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._conn: AsyncConnection | None = None
        self.now_cache: Any = None

    async def connection(self) -> AsyncConnection:
        if self._conn is None:
            conn = await self._engine.connect()
            await conn.begin()
            self._conn = conn
        return self._conn

    @property
    def opened(self) -> bool:
        return self._conn is not None

    async def finish(self, *, commit: bool) -> None:
        if self._conn is None:
            return
        conn, self._conn = self._conn, None
        try:
            if commit:
                await conn.commit()
            else:
                await conn.rollback()
        finally:
            await conn.close()
