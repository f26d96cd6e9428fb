"""Tamper-evident audit (issue 20, PRD §8.5 "auditable"): per-partition hash chains; `sales audit verify` finds
any edited, inserted or deleted row and says where; correct under concurrent writers."""
from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, func, select, update

from sales import cli
from sales.core import audit
from sales.core.audit_chain import PARTITIONS, verify
from sales.core.auth import Principal, Role
from sales.core.db import unit_of_work
from sales.core.tables import audit_chain, audit_log
from sales.settings import get_settings
from tests.builders import API, make_pipeline, make_rm_with_team, move

AT = datetime(2026, 1, 17, 10, 0, tzinfo=UTC)


async def _findings(engine) -> list[str]:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        return [str(f) for f in (await verify(conn)).findings]


@pytest.fixture
async def trail(client, auth, engine):  # type: ignore[no-untyped-def]
    """Writes through the API: a team, an RM, pipelines and stage changes (money and contacts in snapshots)."""
    _, rm = await make_rm_with_team(client, auth.admin)
    for _ in range(3):
        pipeline = await make_pipeline(client, auth.rm(uuid.UUID(rm["id"])), rm_id=rm["id"])
        assert (await move(client, auth.rm(uuid.UUID(rm["id"])), pipeline["id"], "CONTACTED")).status_code == 200
    async with engine.connect() as conn:
        rows = (await conn.execute(select(audit_log).order_by(audit_log.c.seq))).mappings().all()
    assert len(rows) == 8
    return rows


async def test_an_untouched_trail_verifies(engine, trail):
    assert await _findings(engine) == []
    assert all(row["hash"] and row["prev_hash"] and row["chain_pos"] >= 1 for row in trail)


async def test_rows_the_database_hashes_verify_in_python_whatever_their_text(engine, backend):
    """Issue 19: on PostgreSQL the database hashes each row over the text Python writes around its position
    (`audit_chain.around_position`); non-ASCII text, escapes, money and nested values hash alike in both."""
    from decimal import Decimal

    principal = Principal(sub=uuid.uuid4(), roles=frozenset({Role.SALES_ADMIN}))
    async with unit_of_work(engine) as conn:
        async with audit.deferred(conn):
            for n in range(3):
                after = {"name": "Zoë Ωmega 😀 \u00e9", "note": "a\nb\t\"c\"", "amount": Decimal("25000.00"),
                         "items": [1, None, True]}
                await audit.record(conn, principal, action="test.text", entity_type="test", entity_id="text", at=AT,
                                   before={"position": n}, after=after)
        await audit.record(conn, principal, action="test.alone", entity_type="test", entity_id="text", at=AT)
    assert await _findings(engine) == []


async def test_an_edited_row_is_found_by_its_position(engine, trail):
    victim = trail[3]
    async with engine.begin() as conn:
        await conn.execute(update(audit_log).where(audit_log.c.seq == victim["seq"]).values(action="pipeline.deleted"))
    assert await _findings(engine) == [f"partition {victim['partition']}, position {victim['chain_pos']} (audit row "
                                       f"seq {victim['seq']}): content does not match its hash (edited)"]


async def test_an_edited_snapshot_or_actor_is_found(engine, trail):
    async with engine.begin() as conn:
        await conn.execute(update(audit_log).where(audit_log.c.seq == trail[2]["seq"])
                           .values(after={**trail[2]["after"], "deal_value": 1}))
        await conn.execute(update(audit_log).where(audit_log.c.seq == trail[4]["seq"]).values(actor_id=uuid.uuid4()))
    found = await _findings(engine)
    assert len(found) == 2 and all("edited" in f for f in found)
    assert f"seq {trail[2]['seq']}" in found[0] + found[1] and f"seq {trail[4]['seq']}" in found[0] + found[1]


async def test_a_deleted_row_is_found_where_it_was(engine, client, auth):
    """All rows of one transaction share a partition: delete the middle one of a long chain."""
    _, rm = await make_rm_with_team(client, auth.admin)
    pipeline = await make_pipeline(client, auth.admin, rm_id=rm["id"])
    for n in range(3):
        response = await client.put(f"{API}/pipelines/{pipeline['id']}", json={"notes": f"call {n}"},
                                    headers=auth.admin)
        assert response.status_code == 200, response.text
    async with engine.connect() as conn:
        chain = (await conn.execute(select(audit_log).where(audit_log.c.entity_id == pipeline["id"])
                                    .order_by(audit_log.c.chain_pos))).mappings().all()
    victim, after = chain[1], chain[2]
    async with engine.begin() as conn:
        await conn.execute(delete(audit_log).where(audit_log.c.seq == victim["seq"]))
    found = await _findings(engine)
    where = f"partition {after['partition']}, position {after['chain_pos']} (audit row seq {after['seq']})"
    assert f"{where}: position {victim['chain_pos']} missing before this row (deleted)" in found


async def test_a_deleted_last_row_is_found_by_the_head(engine, trail):
    last = max(trail, key=lambda row: row["seq"])
    async with engine.begin() as conn:
        await conn.execute(delete(audit_log).where(audit_log.c.seq == last["seq"]))
    found = await _findings(engine)
    assert len(found) == 1 and found[0].startswith(f"partition {last['partition']}")
    assert "(rows at the end deleted, or the head edited)" in found[0]


async def test_inserted_rows_are_found(engine, trail):
    """A row written around the audit writer, and a forged link appended with a correct-looking hash."""
    template = dict(trail[0])
    async with engine.begin() as conn:
        outside = {**template, "id": uuid.uuid4(), "partition": None, "chain_pos": None, "prev_hash": None,
                   "hash": None}
        outside.pop("seq")
        await conn.execute(audit_log.insert().values(**outside))
        head = (await conn.execute(select(audit_chain).where(audit_chain.c.partition == template["partition"]))).one()
        forged = {**template, "id": uuid.uuid4(), "chain_pos": head.length + 1, "prev_hash": head.head_hash,
                  "hash": "f" * 64}
        forged.pop("seq")
        await conn.execute(audit_log.insert().values(**forged))
    found = await _findings(engine)
    assert any("row outside every chain" in f for f in found), found
    assert any(f"position {head.length + 1}" in f and "edited" in f for f in found), found
    assert any("but its head records" in f for f in found), found


async def test_the_cli_says_where_and_exits_1(engine, trail, settings, monkeypatch):
    monkeypatch.setenv("SALES_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SALES_ENV", "test")
    get_settings.cache_clear()
    try:
        intact = await asyncio.to_thread(CliRunner().invoke, cli.main, ["audit", "verify"])
        assert intact.exit_code == 0, intact.output
        assert "audit trail intact: 8 rows" in intact.output
        victim = trail[5]
        async with engine.begin() as conn:
            await conn.execute(update(audit_log).where(audit_log.c.seq == victim["seq"]).values(entity_id="x"))
        tampered = await asyncio.to_thread(CliRunner().invoke, cli.main, ["audit", "verify"])
    finally:
        get_settings.cache_clear()
    assert tampered.exit_code == 1
    assert tampered.output.splitlines() == [
        f"partition {victim['partition']}, position {victim['chain_pos']} (audit row seq {victim['seq']}): content "
        "does not match its hash (edited)", "audit trail TAMPERED: 1 finding(s): 8 rows in "
        f"{tampered.output.split(' rows in ')[1].split()[0]} chains"]


@pytest.mark.postgres_only
async def test_concurrent_writers_keep_every_chain_intact(engine, backend):
    """40 transactions on real parallel connections, 3 rows each, over fewer entities than partitions and
    more: every position taken once, every link right."""
    principal = Principal(sub=uuid.uuid4(), roles=frozenset({Role.SALES_ADMIN}))
    entities = [str(uuid.uuid4()) for _ in range(6)]

    async def writer(n: int) -> None:
        async with unit_of_work(engine) as conn:
            for step in range(3):
                await audit.record(conn, principal, action="test.write", entity_type="test",
                                   entity_id=entities[(n + step) % len(entities)], at=AT, after={"n": n, "step": step})

    await asyncio.gather(*(writer(n) for n in range(40)))
    assert await _findings(engine) == []
    async with engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(audit_log))).scalar_one() == 120
        lengths = (await conn.execute(select(func.sum(audit_chain.c.length)))).scalar_one()
    assert lengths == 120 and PARTITIONS == 64


async def test_rows_chained_together_at_the_end_of_a_deferred_block(engine, backend):
    """Issue 19: `audit.deferred` chains the rows recorded inside it at its end, in recording order: on PostgreSQL in
    one statement (the head locked, the rows hashed by the database, written with the new head); on SQLite one
    head advance, one INSERT and the head apart. A block that raises writes nothing and the chain stays intact."""
    from sqlalchemy import event

    principal = Principal(sub=uuid.uuid4(), roles=frozenset({Role.SALES_ADMIN}))
    entity = str(uuid.uuid4())
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_):  # type: ignore[no-untyped-def]
        statements.append(statement)

    async with unit_of_work(engine) as conn:
        await audit.record(conn, principal, action="test.before", entity_type="test", entity_id=entity, at=AT)
        event.listen(engine.sync_engine, "before_cursor_execute", count)
        try:
            async with audit.deferred(conn):
                for step in range(3):
                    await audit.record(conn, principal, action=f"test.step{step}", entity_type="test",
                                       entity_id=str(uuid.uuid4()), at=AT, after={"step": step})
                assert statements == []
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", count)
    assert len(statements) == (1 if backend == "postgres" else 3)
    with pytest.raises(RuntimeError):
        async with unit_of_work(engine) as conn:
            async with audit.deferred(conn):
                await audit.record(conn, principal, action="test.lost", entity_type="test", entity_id=entity, at=AT)
                raise RuntimeError("rolled back")
    assert await _findings(engine) == []
    async with engine.connect() as conn:
        rows = (await conn.execute(select(audit_log).order_by(audit_log.c.seq))).mappings().all()
    assert [r["action"] for r in rows] == ["test.before", "test.step0", "test.step1", "test.step2"]
    assert len({r["partition"] for r in rows}) == 1
    assert [r["chain_pos"] for r in rows] == list(range(rows[0]["chain_pos"], rows[0]["chain_pos"] + 4))


@pytest.mark.postgres_only
async def test_concurrent_deferred_writers_keep_every_chain_intact(engine, backend):
    """As above, with half of the writers chaining their rows together at the end of their transaction."""
    principal = Principal(sub=uuid.uuid4(), roles=frozenset({Role.SALES_ADMIN}))
    entities = [str(uuid.uuid4()) for _ in range(6)]

    async def writer(n: int) -> None:
        async with unit_of_work(engine) as conn:
            async with (audit.deferred(conn) if n % 2 else contextlib.nullcontext()):
                for step in range(3):
                    await audit.record(conn, principal, action="test.write", entity_type="test",
                                       entity_id=entities[(n + step) % len(entities)], at=AT,
                                       after={"n": n, "step": step})

    await asyncio.gather(*(writer(n) for n in range(40)))
    assert await _findings(engine) == []
    async with engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(audit_log))).scalar_one() == 120
        assert (await conn.execute(select(func.sum(audit_chain.c.length)))).scalar_one() == 120


async def test_the_migration_chains_rows_written_before_it(tmp_path):
    """0024 puts the existing trail into the chains (in seq order, each row in its entity's partition)."""
    from alembic import command
    from sqlalchemy import Column, MetaData, String, Table

    from sales import migrate
    from sales.core.db import create_engine
    from sales.core.types import JSONType, UTCDateTime, UUIDType
    from sales.settings import Settings

    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    await asyncio.to_thread(command.upgrade, migrate.alembic_config(url), "0017")
    old = Table("audit_log", MetaData(), Column("id", UUIDType), Column("at", UTCDateTime),
                Column("actor_id", UUIDType), Column("actor_roles", JSONType), Column("action", String),
                Column("entity_type", String), Column("entity_id", String), Column("before", JSONType),
                Column("after", JSONType), Column("request_id", String))
    engine = create_engine(Settings(env="test", database_url=url))
    try:
        async with engine.begin() as conn:
            for n in range(5):
                await conn.execute(old.insert().values(
                    id=uuid.uuid4(), at=AT, actor_id=None, actor_roles=["SYSTEM"], action="legacy.write",
                    entity_type="pipeline", entity_id=str(uuid.uuid4()), before=None,
                    after={"deal_value": "25000.00", "n": n, "ratio": 0.1}, request_id=None))
        await asyncio.to_thread(migrate.upgrade, url)
        assert await _findings(engine) == []
        async with engine.connect() as conn:
            assert (await conn.execute(select(func.sum(audit_chain.c.length)))).scalar_one() == 5
    finally:
        await engine.dispose()
