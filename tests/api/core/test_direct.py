"""`sales.core.direct.Direct` (issue 19): a statement built once and run through asyncpg directly on PostgreSQL
(through SQLAlchemy on SQLite) behaves exactly as `await conn.execute(statement, params)`: same rows and values, same
bound parameters, same errors, same listeners, same transaction. Every test compares the two on the same data, inside
a transaction rolled back at its end. The last tests hold the differences a first version had on PostgreSQL."""
from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import bindparam, event, exc as sa_exc, func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from sales.core.db import bound_in
from sales.core.direct import Direct
from sales.core.tables import audit_chain, audit_log
from sales.handoffs.models import handoffs
from sales.leads.models import leads

AT = datetime(2026, 1, 17, 10, 0, tzinfo=UTC)
IST = timezone(timedelta(hours=5, minutes=30))

# audit_log rows by entity id; the columns given are bound by name
_INSERT_AUDIT = insert(audit_log).values({c: bindparam(c, type_=audit_log.c[c].type) for c in (
    "id", "at", "actor_id", "actor_roles", "action", "entity_type", "entity_id", "before", "after")})
_AUDIT_OF = select(audit_log).where(audit_log.c.entity_id == bindparam("entity_id")).order_by(audit_log.c.seq)
_INSERT_HEAD = insert(audit_chain).values(partition=bindparam("partition"), length=bindparam("length"),
                                          head_hash=bindparam("head_hash")).returning(audit_chain)
_HEAD = select(audit_chain).where(audit_chain.c.partition == bindparam("partition"))


@pytest.fixture
async def conn(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection in a transaction that is rolled back when the test ends: it leaves nothing behind."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        try:
            yield connection
        finally:
            await transaction.rollback()


def _audit(entity_id: str, **values: Any) -> dict[str, Any]:
    return {"id": uuid.uuid4(), "at": AT, "actor_id": uuid.uuid4(), "actor_roles": ["RM", "SUPERVISOR"],
            "action": "pipeline.updated", "entity_type": "pipeline", "entity_id": entity_id,
            "before": {"deal_value": Decimal("25000.00"), "notes": None},
            "after": {"deal_value": Decimal("27500.50"), "stage": "CONTACTED"}, **values}


def _typed(rows: Sequence[Any]) -> list[list[tuple[str, str]]]:
    """Each value with its type: 25000.00 is not 25000, an aware datetime is not a naive one."""
    return [[(type(value).__name__, repr(value)) for value in row] for row in rows]


async def _same_rows(conn: AsyncConnection, statement: Any, params: dict[str, Any]) -> Sequence[Any]:
    """Direct's rows for `statement`, asserted equal (values, types, names) to what `conn.execute` returns."""
    expected = (await conn.execute(statement, params)).all()
    found = await Direct(statement).rows(conn, params)
    assert _typed(found) == _typed(expected)
    assert [row._fields for row in found] == [row._fields for row in expected]
    return found


async def test_rows_are_those_of_execute_with_json_uuid_and_utc_datetime_columns(conn):
    """A SELECT of every audit_log column returns what execute returns: JSONB with exact Decimals, UUIDs, UTC times."""
    for action in ("pipeline.created", "pipeline.updated"):
        await conn.execute(_INSERT_AUDIT, _audit("p-1", action=action))
    rows = await _same_rows(conn, _AUDIT_OF, {"entity_id": "p-1"})
    assert len(rows) == 2
    assert rows[0].at == AT and rows[0].at.tzinfo is not None
    assert rows[1].after["deal_value"] == Decimal("27500.50") and str(rows[1].after["deal_value"]) == "27500.50"


async def test_no_row_is_an_empty_result(conn):
    """A SELECT matching nothing returns no rows, as execute does."""
    assert list(await _same_rows(conn, _AUDIT_OF, {"entity_id": "nobody"})) == []


async def test_sealed_columns_are_decrypted(conn):
    """SealedText and SealedJSON columns come back decrypted (their result processors run), as through execute."""
    handoff_id = uuid.uuid4()
    await conn.execute(insert(handoffs).values(
        id=handoff_id, user_id=uuid.uuid4(), direction="TO_ASSISTED", reason="call me on +91 98450 12345",
        context={"page": "checkout", "amount": Decimal("1999.00")}, outcome="QUEUED", pipeline_ids=[],
        created_by=uuid.uuid4(), created_at=AT))
    statement = select(handoffs.c.id, handoffs.c.reason, handoffs.c.context).where(handoffs.c.id == bindparam("id"))
    row, = await _same_rows(conn, statement, {"id": handoff_id})
    assert row.reason == "call me on +91 98450 12345"
    assert row.context == {"page": "checkout", "amount": Decimal("1999.00")}
    stored = (await conn.execute(select(handoffs.c.reason.cast(handoffs.c.direction.type))
                                 .where(handoffs.c.id == handoff_id))).scalar_one()
    assert stored != row.reason  # sealed at rest: the decryption was Direct's doing


async def test_money_column_reads_as_a_two_place_decimal(conn):
    """A Money (NUMERIC(14,2)) column reads as the Decimal execute returns (25000.00, not a float)."""
    lead_id = uuid.uuid4()
    await conn.execute(insert(leads).values(id=lead_id, allocation_status="NEW", expected_deal_value=Decimal("25000"),
                                            created_at=AT, updated_at=AT))
    statement = select(leads.c.id, leads.c.expected_deal_value).where(leads.c.id == bindparam("id"))
    row, = await _same_rows(conn, statement, {"id": lead_id})
    assert str(row.expected_deal_value) == "25000.00"


async def test_rows_read_by_name_position_mapping_and_fields(conn):
    """A row reads as `row.name`, `row[0]`, `row._mapping["name"]` and `row._fields`, like execute's rows."""
    await conn.execute(_INSERT_AUDIT, _audit("p-2"))
    expected = (await conn.execute(_AUDIT_OF, {"entity_id": "p-2"})).one()
    row = await Direct(_AUDIT_OF).one(conn, {"entity_id": "p-2"})
    assert row._fields == expected._fields == tuple(audit_log.c.keys())
    assert row[0] == expected[0] and row[-1] == expected[-1] and tuple(row[1:3]) == tuple(expected[1:3])
    assert len(row) == len(expected)
    for name in expected._fields:
        assert getattr(row, name) == getattr(expected, name)
        assert row._mapping[name] == expected._mapping[name]
    assert dict(row._mapping) == dict(expected._mapping)
    with pytest.raises(AttributeError):
        row.no_such_column  # noqa: B018


async def test_labels_name_the_fields(conn):
    """Labelled expressions (an aggregate) are read by their label, with the value execute returns."""
    for n in range(3):
        await conn.execute(_INSERT_AUDIT, _audit("p-3", action=f"a{n}"))
    statement = (select(audit_log.c.entity_id.label("entity"), func.count().label("n"), func.max(audit_log.c.at)
                        .label("last")).where(audit_log.c.entity_id == bindparam("entity_id"))
                 .group_by(audit_log.c.entity_id))
    row, = await _same_rows(conn, statement, {"entity_id": "p-3"})
    assert (row.entity, row.n, row._mapping["last"]) == ("p-3", 3, AT)


async def test_parameters_go_through_bind_processors(conn):
    """JSON/JSONB and UTCDateTime parameters are bound as execute binds them: the rows written are the same."""
    at = datetime(2026, 1, 17, 15, 30, tzinfo=IST)  # 10:00 UTC
    by_execute = _audit("p-4", at=at, action="by.execute")
    by_direct = _audit("p-4", at=at, action="by.direct")
    await conn.execute(_INSERT_AUDIT, by_execute)
    assert (await Direct(_INSERT_AUDIT.returning(audit_log.c.id)).one(conn, by_direct)).id == by_direct["id"]
    first, second = (await conn.execute(_AUDIT_OF, {"entity_id": "p-4"})).all()
    columns = ("at", "actor_roles", "entity_type", "before", "after")
    assert _typed([[getattr(second, c) for c in columns]]) == _typed([[getattr(first, c) for c in columns]])
    assert second.at == AT and second.after == by_direct["after"] and second.actor_roles == ["RM", "SUPERVISOR"]
    # the JSON parameter was serialized by the codec, a document (not a string holding one)
    assert (await conn.execute(select(audit_log.c.after["stage"].as_string())
                               .where(audit_log.c.id == by_direct["id"]))).scalar_one() == "CONTACTED"


async def test_a_utc_datetime_parameter_compares_in_sql_as_through_execute(conn):
    """A UTCDateTime parameter in a WHERE clause (an aware non-UTC time) selects the rows execute selects."""
    await conn.execute(_INSERT_AUDIT, _audit("p-5"))
    await conn.execute(_INSERT_AUDIT, _audit("p-5", at=AT + timedelta(hours=1)))
    since = bindparam("since", type_=audit_log.c.at.type)
    statement = select(audit_log.c.id, audit_log.c.at).where(audit_log.c.entity_id == "p-5", audit_log.c.at > since)
    rows = await _same_rows(conn, statement, {"since": datetime(2026, 1, 17, 16, 0, tzinfo=IST)})  # 10:30 UTC
    assert [row.at for row in rows] == [AT + timedelta(hours=1)]


async def test_returning_rows_of_a_direct_insert(conn):
    """An INSERT ... RETURNING through Direct returns the row written, which execute then reads alike."""
    row = await Direct(_INSERT_HEAD).one(conn, {"partition": 9001, "length": 3, "head_hash": "ab" * 32})
    expected = (await conn.execute(_HEAD, {"partition": 9001})).one()
    assert _typed([row]) == _typed([expected]) and row._fields == expected._fields
    assert (row.partition, row.length, row.archived_length) == (9001, 3, 0)  # server defaults applied


async def test_unique_violation_raises_sqlalchemy_integrity_error(conn, backend):
    """A duplicate key raises sqlalchemy.exc.IntegrityError as execute does (SQLSTATE 23505 on PostgreSQL)."""
    values = _audit("p-6")
    await conn.execute(_INSERT_AUDIT, values)
    raised = []
    for run in (lambda: conn.execute(_INSERT_AUDIT, values), lambda: Direct(_INSERT_AUDIT).rows(conn, values)):
        with pytest.raises(sa_exc.IntegrityError) as info:
            async with conn.begin_nested():  # the failed statement is undone, the transaction goes on
                await run()
        raised.append(info.value)
    by_execute, by_direct = raised
    assert type(by_direct) is type(by_execute)
    assert type(by_direct.orig) is type(by_execute.orig)
    if backend == "postgres":
        assert by_direct.orig.sqlstate == by_execute.orig.sqlstate == "23505"
        assert "uq_audit_log_id" in str(by_direct.orig)
    assert len((await conn.execute(_AUDIT_OF, {"entity_id": "p-6"})).all()) == 1


async def test_sql_error_raises_sqlalchemy_error(conn):
    """A statement the database refuses (a NOT NULL column given NULL) raises the same SQLAlchemy error class."""
    values = _audit("p-7", action=None)
    raised = []
    for run in (lambda: conn.execute(_INSERT_AUDIT, values), lambda: Direct(_INSERT_AUDIT).rows(conn, values)):
        with pytest.raises(sa_exc.DBAPIError) as info:
            async with conn.begin_nested():
                await run()
        raised.append(info.value)
    assert type(raised[1]) is type(raised[0]) is sa_exc.IntegrityError


async def test_before_cursor_execute_listeners_see_the_statement(engine, conn):
    """The engine's before_cursor_execute listeners get the SQL text and a context with .compiled and
    .invoked_statement, as for execute."""
    seen: list[tuple[str, Any, Any]] = []

    def capture(_conn, _cursor, statement, _parameters, context, _executemany):  # type: ignore[no-untyped-def]
        seen.append((statement, context.compiled, context.invoked_statement))

    await conn.execute(_INSERT_AUDIT, _audit("p-8"))
    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        await conn.execute(_AUDIT_OF, {"entity_id": "p-8"})
        await Direct(_AUDIT_OF).rows(conn, {"entity_id": "p-8"})
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)
    (by_execute, compiled_e, invoked_e), (by_direct, compiled_d, invoked_d) = seen
    assert by_direct == by_execute
    assert invoked_d is invoked_e is _AUDIT_OF
    assert compiled_d.string == compiled_e.string == by_direct


async def test_runs_inside_the_connections_transaction(engine, conn):
    """A Direct write is seen by execute in the same transaction and discarded by its rollback."""
    async with conn.begin_nested() as savepoint:
        await Direct(_INSERT_HEAD).one(conn, {"partition": 9002, "length": 1, "head_hash": "cd" * 32})
        assert (await conn.execute(_HEAD, {"partition": 9002})).one().length == 1
        async with engine.connect() as other:  # not committed: invisible elsewhere
            assert (await other.execute(_HEAD, {"partition": 9002})).first() is None
        await savepoint.rollback()
    assert (await conn.execute(_HEAD, {"partition": 9002})).first() is None
    assert await Direct(_HEAD).first(conn, {"partition": 9002}) is None


async def test_a_rolled_back_transaction_leaves_no_direct_write(engine):
    """A Direct write on a connection whose transaction is rolled back is gone afterwards."""
    async with engine.connect() as conn:
        async with conn.begin() as transaction:
            await Direct(_INSERT_HEAD).one(conn, {"partition": 9003, "length": 1, "head_hash": "ef" * 32})
            await transaction.rollback()
        assert (await conn.execute(_HEAD, {"partition": 9003})).first() is None
        await conn.rollback()


async def test_expanding_in_over_a_bound_list_works(conn):
    """`column.in_(bindparam(..., expanding=True))` (SQL finished per execution) returns execute's rows."""
    for action in ("a", "b", "c"):
        await conn.execute(_INSERT_AUDIT, _audit("p-9", action=action))
    statement = (select(audit_log.c.action, audit_log.c.at)
                 .where(audit_log.c.entity_id == bindparam("entity_id"),
                        audit_log.c.action.in_(bindparam("actions", expanding=True)))
                 .order_by(audit_log.c.action))
    direct = Direct(statement)
    for actions in (["a"], ["a", "c"], ["b", "c", "zz"], []):
        params = {"entity_id": "p-9", "actions": actions}
        expected = (await conn.execute(statement, params)).all()
        found = await direct.rows(conn, params)
        assert _typed(found) == _typed(expected)
        assert [row.action for row in found] == sorted(set(actions) & {"a", "b", "c"})


async def test_bound_in_is_one_array_parameter_on_postgres_and_reads_as_expanding_in(conn, backend):
    """`bound_in` (issue 19): the same rows as an expanding IN for any list, the empty one included; on PostgreSQL
    the list is one array parameter, so the SQL never changes and the statement goes through asyncpg directly."""
    for action in ("a", "b", "c"):
        await conn.execute(_INSERT_AUDIT, _audit("p-10", action=action))
    postgres = backend == "postgres"
    statement = (select(audit_log.c.action)
                 .where(audit_log.c.entity_id == bindparam("entity_id"),
                        bound_in(func.lower(audit_log.c.action, type_=audit_log.c.action.type), "actions",
                                 postgres=postgres))
                 .order_by(audit_log.c.action))
    direct = Direct(statement)
    for actions in (["a"], ["a", "c"], ["b", "c", "zz"], []):
        found = await direct.rows(conn, {"entity_id": "p-10", "actions": actions})
        assert [row.action for row in found] == sorted(set(actions) & {"a", "b", "c"})
    if postgres:
        assert direct._compiled is not None and not direct._compiled.through_sqlalchemy


async def test_a_python_side_default_not_given_is_refused_on_postgres(conn, backend):
    """An INSERT leaving a Python-side column default to SQLAlchemy (insert prefetch) raises ValueError on
    PostgreSQL when first run; on SQLite it runs as execute does."""
    # sla_breaches is not given: its default=0 is computed in Python
    statement = insert(leads).values(id=bindparam("id"), allocation_status="NEW", created_at=bindparam("at"),
                                     updated_at=bindparam("at")).returning(leads.c.id)
    lead_id = uuid.uuid4()
    direct = Direct(statement)
    if backend == "postgres":
        with pytest.raises(ValueError, match="Python-side defaults"):
            await direct.rows(conn, {"id": lead_id, "at": AT})
        assert (await conn.execute(select(leads.c.id).where(leads.c.id == lead_id))).first() is None
    else:
        await direct.rows(conn, {"id": lead_id, "at": AT})
        assert (await conn.execute(select(leads.c.sla_breaches).where(leads.c.id == lead_id))).scalar_one() == 0


async def test_one_raises_no_result_and_multiple_results_as_execute(conn):
    """`.one()` raises NoResultFound for no row and MultipleResultsFound for two, like Result.one()."""
    for action in ("a", "b"):
        await conn.execute(_INSERT_AUDIT, _audit("p-10", action=action))
    direct = Direct(_AUDIT_OF)
    for entity_id, error in (("nobody", sa_exc.NoResultFound), ("p-10", sa_exc.MultipleResultsFound)):
        with pytest.raises(error):
            (await conn.execute(_AUDIT_OF, {"entity_id": entity_id})).one()
        with pytest.raises(error):
            await direct.one(conn, {"entity_id": entity_id})


async def test_first_returns_the_first_row_or_none_as_execute(conn):
    """`.first()` returns the first row, or None when there is none, like Result.first()."""
    for action in ("a", "b"):
        await conn.execute(_INSERT_AUDIT, _audit("p-11", action=action))
    direct = Direct(_AUDIT_OF)
    expected = (await conn.execute(_AUDIT_OF, {"entity_id": "p-11"})).first()
    assert _typed([await direct.first(conn, {"entity_id": "p-11"})]) == _typed([expected])
    assert await direct.first(conn, {"entity_id": "nobody"}) is None


async def test_a_statement_runs_again_with_other_parameters(conn):
    """One Direct, built once, runs many times with different parameters and returns each time execute's rows."""
    for entity_id in ("p-12", "p-13"):
        await conn.execute(_INSERT_AUDIT, _audit(entity_id))
    direct = Direct(_AUDIT_OF)
    for entity_id in ("p-12", "p-13", "p-12", "nobody"):
        expected = (await conn.execute(_AUDIT_OF, {"entity_id": entity_id})).all()
        assert _typed(await direct.rows(conn, {"entity_id": entity_id})) == _typed(expected)



async def test_a_textual_statement_reads_by_its_column_names(conn):
    """A text() statement typing some of its columns returns execute's rows, by name, processed where typed."""
    await conn.execute(_INSERT_AUDIT, _audit("p-14"))
    statement = text("SELECT entity_id, at, action FROM audit_log WHERE entity_id = :entity_id").columns(
        at=audit_log.c.at.type)
    row, = await _same_rows(conn, statement, {"entity_id": "p-14"})
    assert (row.entity_id, row.at, row._mapping["action"]) == ("p-14", AT, "pipeline.updated")


async def test_bind_parameter_names_needing_escapes_are_bound(conn):
    """A bind parameter named with characters SQLAlchemy escapes ("head.partition") is bound by that name."""
    await conn.execute(_INSERT_HEAD, {"partition": 9005, "length": 4, "head_hash": "aa" * 32})
    statement = select(audit_chain.c.length).where(audit_chain.c.partition == bindparam("head.partition"))
    assert [tuple(row) for row in await _same_rows(conn, statement, {"head.partition": 9005})] == [(4,)]


# --- Differences from execute found on PostgreSQL (SQLite runs Direct through SQLAlchemy) --------------------------

@pytest.mark.postgres_only
async def test_a_direct_write_autobegins_like_execute_and_commit_keeps_it(engine):
    """With no transaction begun, a Direct write begins one as SQLAlchemy's autobegin would: commit() keeps it."""
    try:
        async with engine.connect() as conn:
            await Direct(_INSERT_HEAD).one(conn, {"partition": 9004, "length": 1, "head_hash": "01" * 32})
            await conn.commit()
        async with engine.connect() as other:
            assert (await other.execute(_HEAD, {"partition": 9004})).first() is not None
    finally:
        async with engine.begin() as cleanup:
            await cleanup.execute(audit_chain.delete().where(audit_chain.c.partition == 9004))


@pytest.mark.postgres_only
async def test_a_bind_processor_error_raises_statement_error_as_execute(conn):
    """A bind processor's error (a naive datetime for a UTCDateTime column) is raised as execute raises it: a
    sqlalchemy.exc.StatementError wrapping it."""
    values = _audit("p-15", at=datetime(2026, 1, 17, 10, 0))
    with pytest.raises(sa_exc.StatementError):
        await conn.execute(_INSERT_AUDIT, values)
    with pytest.raises(sa_exc.StatementError):
        await Direct(_INSERT_AUDIT.returning(audit_log.c.id)).rows(conn, values)


@pytest.mark.postgres_only
async def test_a_bare_insert_missing_columns_is_refused_not_bound_as_null(conn):
    """`Direct(insert(table))` compiles every column once: a column missing from the parameters is refused (as a
    required bind parameter) instead of being bound as NULL; execute would leave it to its server default. Direct
    statements name their columns (`.values(...)`). Nothing is written."""
    statement = insert(audit_chain).returning(audit_chain)
    with pytest.raises(sa_exc.InvalidRequestError, match="A value is required for bind parameter"):
        await Direct(statement).one(conn, {"partition": 9007, "length": 1, "head_hash": "aa" * 32})
    assert (await conn.execute(_HEAD, {"partition": 9007})).first() is None


@pytest.mark.postgres_only
async def test_a_callable_bind_parameter_is_called_per_execution(conn):
    """`bindparam(callable_=...)` is called at every execution, as execute calls it (such a statement runs through
    SQLAlchemy)."""
    calls = iter(range(1, 100))
    statement = select(bindparam("n", callable_=lambda: next(calls), type_=audit_chain.c.length.type).label("n"))
    direct = Direct(statement)
    assert [(await direct.one(conn, {})).n for _ in range(3)] == [1, 2, 3]
