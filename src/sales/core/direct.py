"""Statements built once and sent to PostgreSQL through asyncpg directly (issue 19).

A statement through SQLAlchemy's `AsyncConnection.execute` costs about 150 us of Python on top of asyncpg's own
work (measured: ~280 against ~130 us of CPU per one-row SELECT on the same connection): the greenlet switch, the
execution context, parameter processing, the DBAPI adapter's cursor and the result's rows. The hottest
statements of the request path (a pipeline read, a stage change) skip that layer on PostgreSQL:

- the statement is compiled once for the connection's dialect; its parameters are bound by position with the
  types' bind processors, as SQLAlchemy would bind them;
- it runs on the request's own asyncpg connection, inside its transaction (started first, as the adapter
  would), prepared once per connection (asyncpg's statement cache);
- rows come back as `Row`s: by position, by name (`row.id`), as a mapping (`row._mapping`) and with their
  names (`row._fields`);
- the engine's `before_cursor_execute` listeners see it (the switch out of read-only autocommit, the bench's
  statement capture), and errors are raised as SQLAlchemy's (`IntegrityError`, ...).

A statement whose SQL SQLAlchemy finishes per execution (an expanding `IN` of bound lists: a supervisor's teams)
still runs through SQLAlchemy, on both databases. Result values get the types' result processors, as SQLAlchemy would apply them (NUMERIC must be read as Decimal),
so a row holds exactly what SQLAlchemy would have returned. On SQLite the statement runs through SQLAlchemy.
"""
from __future__ import annotations

from typing import Any, Sequence

from sqlalchemy import Float, Numeric, exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection

from sales.core.db import is_postgres


class Row(tuple):
    """A result row that reads like SQLAlchemy's Row: by position, by name (`row.id`), as a mapping
    (`row._mapping`) and with its names (`row._fields`). One subclass per statement holds its names."""

    __slots__ = ()
    _fields: tuple[str, ...] = ()
    _index: dict[str, int] = {}

    def __getattr__(self, name: str) -> Any:
        try:
            return self[self._index[name]]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def _mapping(self) -> dict[str, Any]:
        return dict(zip(self._fields, self))


class _Context:
    """What `before_cursor_execute` listeners read of an execution context: the statement and its compiled form."""

    __slots__ = ("compiled", "invoked_statement")

    def __init__(self, compiled: Any, statement: Any) -> None:
        self.compiled = compiled
        self.invoked_statement = statement


class _Compiled:
    __slots__ = ("sql", "names", "bound", "context", "defaults", "row", "results", "through_sqlalchemy")

    def __init__(self, statement: Any, dialect: Any) -> None:
        compiled = statement.compile(dialect=dialect)
        if compiled.insert_prefetch or compiled.update_prefetch:
            raise ValueError("a direct statement binds every value itself (no Python-side defaults)")
        self.through_sqlalchemy = bool(compiled.literal_execute_params or compiled.post_compile_params)
        columns = compiled._result_columns or ()
        names = tuple(column.keyname for column in columns)
        self.row = type("Row", (Row,), {"__slots__": (), "_fields": names,
                                        "_index": {name: i for i, name in enumerate(names)}})
        results = tuple(_result_processor(column.type, dialect) for column in columns)
        self.results = results if any(results) else None
        self.sql = compiled.string
        self.names: tuple[str, ...] = tuple(compiled.positiontup or ())
        processors = compiled._bind_processors
        self.bound = tuple((i, processors[name]) for i, name in enumerate(self.names) if name in processors)
        # values given in the statement itself (bindparam(value=...)); the others come with each execution
        self.defaults = compiled.construct_params(_check=False)
        self.context = _Context(compiled, statement)


def _result_processor(type_: Any, dialect: Any) -> Any:
    """What SQLAlchemy does to this type's values after asyncpg decoded them (None: nothing)."""
    if isinstance(type_, Numeric) and not isinstance(type_, Float):
        if type_.asdecimal:
            return None  # asyncpg decodes NUMERIC as Decimal (SQLAlchemy's processor depends on the column's oid)
        raise ValueError("a direct statement reads NUMERIC as Decimal only")
    return type_._cached_result_processor(dialect, None)


class Direct:
    """One statement, built once at import time, executed with `await direct.rows(conn, params)`."""

    __slots__ = ("statement", "_compiled")

    def __init__(self, statement: Any) -> None:
        self.statement = statement
        self._compiled: _Compiled | None = None

    async def rows(self, conn: AsyncConnection, params: dict[str, Any]) -> Sequence[Any]:
        if not is_postgres(conn):
            return (await conn.execute(self.statement, params)).all()
        compiled = self._compiled
        if compiled is None:
            compiled = self._compiled = _Compiled(self.statement, conn.dialect)
        if compiled.through_sqlalchemy:
            return (await conn.execute(self.statement, params)).all()
        defaults = compiled.defaults
        args = [params[name] if name in params else defaults[name] for name in compiled.names]
        for i, process in compiled.bound:
            args[i] = process(args[i])
        return await _run(conn, compiled, args)

    async def first(self, conn: AsyncConnection, params: dict[str, Any]) -> Any:
        found = await self.rows(conn, params)
        return found[0] if found else None

    async def one(self, conn: AsyncConnection, params: dict[str, Any]) -> Any:
        found = await self.rows(conn, params)
        if len(found) != 1:
            raise sa_exc.NoResultFound("no row was found") if not found else \
                sa_exc.MultipleResultsFound("more than one row was found")
        return found[0]


async def _run(conn: AsyncConnection, compiled: _Compiled, args: list[Any]) -> Sequence[Any]:
    sync = conn.sync_connection
    assert sync is not None
    if sync.dispatch.before_cursor_execute:
        sync.dispatch.before_cursor_execute(sync, None, compiled.sql, tuple(args), compiled.context, False)
    adapted = (await conn.get_raw_connection()).dbapi_connection
    driver = adapted._connection
    try:
        async with adapted._execute_mutex:
            if adapted._transaction is None:
                await adapted._start_transaction()
            # asyncpg prepares it once per connection (its statement cache, as for SQLAlchemy's own statements)
            records = await driver.fetch(compiled.sql, *args)
    except Exception as error:
        raise _translated(conn, compiled, args, adapted, error) from error
    row, results = compiled.row, compiled.results
    if results is None:
        return [row(record) for record in records]
    return [row([value if process is None else process(value) for value, process in zip(record, results)])
            for record in records]


def _translated(conn: AsyncConnection, compiled: _Compiled, args: list[Any], adapted: Any,
                error: Exception) -> Exception:
    """The error as SQLAlchemy raises it for the same statement (IntegrityError, OperationalError, ...)."""
    dbapi = adapted.dbapi
    if not isinstance(error, dbapi.Error):
        try:
            adapted._handle_exception(error)  # raises the DBAPI-level translation
        except Exception as translated:
            error = translated
    if isinstance(error, dbapi.Error):
        return sa_exc.DBAPIError.instance(compiled.sql, tuple(args), error, dbapi.Error, hide_parameters=True,
                                          dialect=conn.dialect)
    return error
