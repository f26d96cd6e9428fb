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

Result values get the types' result processors, picked as SQLAlchemy picks them (by the columns' type oids, which
the database describes once per statement), so a row holds exactly what SQLAlchemy would have returned. On SQLite,
and for a statement whose SQL SQLAlchemy finishes per execution (an expanding `IN` over a bound list: a
supervisor's teams), the statement runs through SQLAlchemy.

It relies on internals of SQLAlchemy's asyncpg adapter and compiler (the adapter's transaction and mutex, the
compiled statement's bind and result processors), pinned in the lock file: tests/api/core/test_direct.py compares
every behaviour above with `conn.execute` and fails first if an upgrade changes them.
"""
from __future__ import annotations

import operator
from typing import Any, Sequence

from sqlalchemy import exc as sa_exc
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


def _row_class(names: tuple[str, ...]) -> type[Row]:
    """A statement's row class: each name that is not already an attribute of a row reads through a C-level
    getter, as a namedtuple's does (`__getattr__` runs only after a failed lookup has raised; issue 19)."""
    index = {name: i for i, name in enumerate(names)}
    getters = {name: property(operator.itemgetter(i)) for name, i in index.items()
               if name.isidentifier() and not hasattr(Row, name)}
    return type("Row", (Row,), {"__slots__": (), "_fields": names, "_index": index, **getters})


class _Context:
    """What `before_cursor_execute` listeners read of an execution context: the statement and its compiled form."""

    __slots__ = ("compiled", "invoked_statement")

    def __init__(self, compiled: Any, statement: Any) -> None:
        self.compiled = compiled
        self.invoked_statement = statement


class _Compiled:
    __slots__ = ("sql", "names", "bound", "context", "defaults", "row", "columns", "results", "through_sqlalchemy")

    def __init__(self, statement: Any, dialect: Any) -> None:
        compiled = statement.compile(dialect=dialect)
        if compiled.insert_prefetch or compiled.update_prefetch:
            raise ValueError("a direct statement binds every value itself (no Python-side defaults)")
        # SQL finished per execution, or a value computed per execution (bindparam(callable_=...)): SQLAlchemy's
        self.through_sqlalchemy = bool(compiled.literal_execute_params or compiled.post_compile_params
                                       or any(bind.callable is not None for bind in compiled.bind_names))
        self.columns = tuple(compiled._result_columns or ())
        self.row: type[Row] = Row
        self.results: tuple | None | bool = False  # known once the database has described the columns
        self.sql = compiled.string
        self.names: tuple[str, ...] = tuple(compiled.positiontup or ())
        processors = compiled._bind_processors
        self.bound = tuple((i, processors[name]) for i, name in enumerate(self.names) if name in processors)
        # values given in the statement itself (bindparam(value=...)); every other one comes with each execution
        # (an INSERT names its columns: none is left out for its server default, nor bound as NULL)
        given = {name for bind, name in compiled.bind_names.items() if not bind.required}
        self.defaults = {} if self.through_sqlalchemy else {
            name: value for name, value in compiled.construct_params(_check=False).items() if name in given}
        self.context = _Context(compiled, statement)

    def arguments(self, params: dict[str, Any]) -> list[Any]:
        """The positional values, each through its type's bind processor (errors raised as SQLAlchemy's)."""
        defaults = self.defaults
        try:
            args = [params[name] if name in params else defaults[name] for name in self.names]
        except KeyError as missing:
            raise sa_exc.InvalidRequestError(f"A value is required for bind parameter {missing.args[0]!r}") from None
        try:
            for i, process in self.bound:
                args[i] = process(args[i])
        except Exception as error:
            raise sa_exc.StatementError(f"({type(error).__module__}.{type(error).__name__}) {error}", self.sql,
                                        params, error) from error
        return args

    def learn_results(self, described: list[Any], dialect: Any) -> None:
        """The rows' names and the types' result processors for the columns' database types (SQLAlchemy picks them
        by type oid): by position, or by name for a textual statement that types only some of its columns."""
        names = tuple(attribute.name for attribute in described)
        if len(described) == len(self.columns):
            names = tuple(column.keyname for column in self.columns)
            types = [column.type for column in self.columns]
        else:
            typed = {column.keyname: column.type for column in self.columns}
            types = [typed.get(name) for name in names]
        results = tuple(None if type_ is None else type_._cached_result_processor(dialect, attribute.type.oid)
                        for type_, attribute in zip(types, described))
        self.row = _row_class(names)
        self.results = results if any(results) else None


class Direct:
    """One statement, built once at import time, executed with `await direct.rows(conn, params)`."""

    __slots__ = ("statement", "_compiled")

    def __init__(self, statement: Any) -> None:
        self.statement = statement
        self._compiled: _Compiled | None = None

    async def rows(self, conn: AsyncConnection, params: dict[str, Any]) -> Sequence[Any]:
        """The statement's rows (none for a statement without RETURNING, on either database)."""
        if not is_postgres(conn):
            return await self._through_sqlalchemy(conn, params)
        compiled = self._compiled
        if compiled is None:
            compiled = self._compiled = _Compiled(self.statement, conn.dialect)
        if compiled.through_sqlalchemy:
            return await self._through_sqlalchemy(conn, params)
        return await _run(conn, compiled, compiled.arguments(params))

    async def _through_sqlalchemy(self, conn: AsyncConnection, params: dict[str, Any]) -> Sequence[Any]:
        result = await conn.execute(self.statement, params)
        return result.all() if result.returns_rows else []

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
    if not sync.in_transaction():
        await conn.begin()  # what SQLAlchemy's autobegin does before a statement: the caller's commit() ends it
    if sync.dispatch.before_cursor_execute:
        sync.dispatch.before_cursor_execute(sync, None, compiled.sql, tuple(args), compiled.context, False)
    # The pooled connection this one holds (in a transaction: it is there; `get_raw_connection` would spawn a
    # greenlet to reach it, a few microseconds per statement)
    adapted = sync.connection.dbapi_connection
    driver = adapted._connection
    try:
        async with adapted._execute_mutex:
            if adapted._transaction is None:
                await adapted._start_transaction()
            if compiled.results is False:
                described = await driver.prepare(compiled.sql)
                compiled.learn_results(list(described.get_attributes()), conn.dialect)
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
