"""Engine and the unit of work: one connection and one transaction per request or job."""
from __future__ import annotations

import json
import re
import warnings
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import BindParameter, Column, ColumnElement, Table, any_, bindparam, event, exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from sales.core.pool import FairPool
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


_JSON_DECODER = json.JSONDecoder(parse_float=Decimal)  # made once: `json.loads(..., parse_float=)` builds one per call


def json_loads(text: str | bytes) -> Any:
    """`json.loads(text, parse_float=Decimal)` with one decoder for the process (issue 19: a candidate row of the
    allocation engine has four JSON columns; building a decoder per value was half of reading the rows)."""
    if isinstance(text, (bytes, bytearray)):
        text = text.decode(json.detect_encoding(text), "surrogatepass")
    return _JSON_DECODER.decode(text)


# JSON columns (event envelopes, audit snapshots, decision traces) keep money exact: Decimal in, the same
# digits out (25000.00 stays 25000.00), never a float round trip.
JSON_CODEC = {"json_serializer": _json_dumps, "json_deserializer": json_loads}


# A connection carrying this execution option begins its transaction with the write lock on SQLite.
_WRITES = "sales_writes"


def _sqlite_begin(conn: Any) -> None:
    """SQLite: BEGIN ourselves (the driver's own transaction handling is off, see create_engine).

    Writers take the write lock when their transaction starts (BEGIN IMMEDIATE), so a read-then-write
    sees the rows it then changes and concurrent writers queue (busy_timeout) instead of overwriting each
    other; `SELECT ... FOR UPDATE` is a no-op on SQLite. Readers BEGIN DEFERRED: a consistent snapshot
    without blocking anyone."""
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITES) else "BEGIN")


def _sqlite_connect(dbapi_connection: Any, record: Any) -> None:
    # pysqlite's legacy mode BEGINs only at the first INSERT/UPDATE/DELETE: reads before it see no
    # snapshot and SAVEPOINTs escape the transaction. SQLAlchemy's "begin" event takes over instead.
    dbapi_connection.isolation_level = None
    _sqlite_pragmas(dbapi_connection, record)


# No JIT compilation: this is an OLTP service whose statements run in milliseconds. PostgreSQL estimates the
# dashboards' aggregates over the x10 tables above `jit_above_cost`, and compiling them (their many CASE and FILTER
# expressions) took 2.7-4.8 s of queries that run in 0.05-3.7 s without it (EXPLAIN ANALYZE, x10 bench, issue 18).
_SERVER_SETTINGS = {"timezone": "UTC", "jit": "off"}


def create_engine(settings: Settings, *, url: str | None = None, pool_size: int | None = None) -> AsyncEngine:
    url = url or settings.database_url
    if url.startswith("sqlite"):
        engine = create_async_engine(url, hide_parameters=True, **JSON_CODEC)
        event.listen(engine.sync_engine, "connect", _sqlite_connect)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    size = pool_size or settings.db_pool_size
    engine = create_async_engine(url, poolclass=FairPool, pool_size=size, max_overflow=size, pool_pre_ping=False,
                                 pool_timeout=settings.db_queue_timeout_seconds, **JSON_CODEC,
                                 connect_args={"server_settings": _SERVER_SETTINGS}, hide_parameters=True)
    _queues[engine.sync_engine] = _Queue(settings.db_queue_max)
    event.listen(engine.sync_engine, "before_cursor_execute", _begin_before_first_write)
    event.listen(engine.sync_engine, "checkin", _transactions_again)
    return engine


# --- PostgreSQL reads without BEGIN/COMMIT (issue 19) ------------------------------------------------
# A read request's connection starts in the driver's autocommit mode: its SELECTs run without the BEGIN and
# COMMIT round trips (together ~20% of the CPU of a one-statement GET). Under READ COMMITTED every statement
# takes its own snapshot inside a transaction too, so plain SELECTs see exactly what they would have seen. The
# first statement that is not a plain SELECT (a write, a row lock, an advisory lock, a savepoint, ...) switches
# the connection back: the driver BEGINs right before it, and the request's unit of work commits or rolls back
# from there as usual. Every connection goes back to the pool with transactions on.
_PLAIN_SELECT = re.compile(r"\s*SELECT\b", re.IGNORECASE)
_NOT_PLAIN = re.compile(r"\bFOR\s+(?:UPDATE|SHARE|NO\s+KEY\s+UPDATE|KEY\s+SHARE)\b|advisory|nextval|setval"
                        r"|\b(?:INSERT|UPDATE|DELETE|MERGE)\b", re.IGNORECASE)


@lru_cache(maxsize=2048)  # statements repeat: decide once per text
def _needs_transaction(statement: str) -> bool:
    return not _PLAIN_SELECT.match(statement) or _NOT_PLAIN.search(statement) is not None


def _begin_before_first_write(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
    dbapi = conn.connection.dbapi_connection
    if dbapi.autocommit and _needs_transaction(statement):
        dbapi.autocommit = False  # the driver BEGINs before running this statement


def _transactions_again(dbapi_connection: Any, _record: Any) -> None:
    if dbapi_connection is not None:
        dbapi_connection.autocommit = False


async def reads_without_transaction(conn: AsyncConnection) -> None:
    """PostgreSQL: run this connection's plain SELECTs without BEGIN/COMMIT until its first other statement."""
    if is_postgres(conn):
        (await conn.get_raw_connection()).dbapi_connection.autocommit = True


def _pool_exhausted(engine: AsyncEngine) -> bool:
    pool: Any = engine.sync_engine.pool
    return pool.checkedout() >= pool.size() + max(0, pool._max_overflow)


def is_postgres(conn: AsyncConnection) -> bool:
    return conn.dialect.name == "postgresql"


def dialect_insert(conn: AsyncConnection, table: Table) -> Any:
    """An INSERT with the database's own `ON CONFLICT` clauses (`on_conflict_do_nothing/do_update`, `excluded`):
    both dialects spell them alike."""
    return insert_for(is_postgres(conn), table)


def insert_for(postgres: bool, table: Table) -> Any:
    """`dialect_insert` for a statement built once per database kind, before any connection is at hand."""
    return (postgresql.insert if postgres else sqlite.insert)(table)


def bound_values(table: Table, columns: Iterable[str], prefix: str = "") -> dict[str, BindParameter[Any]]:
    """`.values(...)` for a statement built once: each column bound as `<prefix><column>` with the column's type."""
    return {c: bindparam(f"{prefix}{c}", type_=table.c[c].type) for c in columns}


def bound_in(expression: ColumnElement[Any], name: str, *, postgres: bool) -> ColumnElement[bool]:
    """`expression IN (:name)` over a bound list, for a statement built once. On PostgreSQL the list is one array
    parameter (`= ANY`): the SQL is the same for every execution and the statement can go through core.direct. On
    SQLite it is an expanding IN, which SQLAlchemy renders again on every execution (issue 19)."""
    if postgres:
        return expression == any_(bindparam(name, type_=postgresql.ARRAY(expression.type)))
    return expression.in_(bindparam(name, expanding=True))


def insert_unless_exists(conn: AsyncConnection, table: Table, *conflict_columns: Column[Any]) -> Any:
    """`INSERT ... ON CONFLICT (conflict_columns) DO NOTHING` on either database: a concurrent duplicate
    inserts nothing (add `.returning(...)` to tell) instead of failing the transaction."""
    return dialect_insert(conn, table).on_conflict_do_nothing(index_elements=list(conflict_columns))


class PoolQueueFull(sa_exc.TimeoutError):
    """More requests are waiting for a database connection than the configured queue holds (answered 503)."""


class _Queue:
    """Who is waiting for a pooled connection: beyond the pool, requests queue (the pool serves them in order
    as connections come back, up to its timeout); past `limit` waiting requests a new one is refused at once."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.waiting = 0


_queues: "weakref.WeakKeyDictionary[Any, _Queue]" = weakref.WeakKeyDictionary()


async def connect(engine: AsyncEngine, *, writes: bool) -> AsyncConnection:
    """A connection whose transactions are for writing (write lock at BEGIN on SQLite) or for reading."""
    queue = _queues.get(engine.sync_engine)
    if queue is None:
        conn = await engine.connect()
    else:
        if queue.waiting >= queue.limit and _pool_exhausted(engine):
            raise PoolQueueFull(f"{queue.waiting} requests already wait for a database connection")
        queue.waiting += 1
        try:
            conn = await engine.connect()
        finally:
            queue.waiting -= 1
    if writes:
        await conn.execution_options(**{_WRITES: True})
    return conn


@asynccontextmanager
async def unit_of_work(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A writing transaction: committed when the block succeeds, rolled back when it raises.
    Services never commit."""
    conn = await connect(engine, writes=True)
    try:
        async with conn.begin():
            yield conn
    finally:
        await conn.close()


class LazyTransaction:
    """A request's connection, opened on first use; the UnitOfWork middleware ends it (`finish`)."""

    def __init__(self, engine: AsyncEngine, *, writes: bool) -> None:
        self._engine = engine
        self._writes = writes
        self._conn: AsyncConnection | None = None
        self.now_cache: Any = None
        # Set by a route that answers an error after recording why (a suppressed upsell decision, issue 11):
        # its writes are committed although the response is >= 400. Nothing else may have been written.
        self.commit_on_failure = False
        self._on_end: list[Callable[[bool], Awaitable[None]]] = []

    def on_end(self, hook: Callable[[bool], Awaitable[None]]) -> None:
        """Run `hook(committed)` once the transaction has ended, whichever way (e.g. settling uploaded files)."""
        self._on_end.append(hook)

    async def connection(self) -> AsyncConnection:
        if self._conn is None:
            conn = await connect(self._engine, writes=self._writes)
            try:
                if not self._writes:
                    await reads_without_transaction(conn)
                await conn.begin()
            except BaseException:
                await conn.close()
                raise
            self._conn = conn
        return self._conn

    @property
    def opened(self) -> bool:
        return self._conn is not None

    async def finish(self, *, commit: bool) -> None:
        committed = False
        try:
            if self._conn is None:
                return
            conn, self._conn = self._conn, None
            try:
                if commit:
                    await conn.commit()
                    committed = True
                else:
                    await conn.rollback()
            finally:
                await conn.close()
        finally:
            hooks, self._on_end = self._on_end, []
            for hook in hooks:
                await hook(committed)


# Deadlock detected, serialization failure: the database rolled the transaction back; running it again can work.
TRANSIENT_SQLSTATES = frozenset({"40P01", "40001"})


def is_transient(exc: BaseException) -> bool:
    """Whether a database error only means "lost a race, try again" (nothing was written)."""
    seen: BaseException | None = exc
    while seen is not None:
        if getattr(seen, "sqlstate", None) in TRANSIENT_SQLSTATES:
            return True
        seen = getattr(seen, "orig", None) or seen.__cause__
    return False
