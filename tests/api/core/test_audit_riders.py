"""Issue 19: `audit.deferred(conn, with_events=True)` writes its outbox events with its audit rows, and on
PostgreSQL takes riders (`audit.Rider`): INSERTs written in the statement that chains the block's audit rows, with
their events if they inserted their row (`notifications.request` is one). On SQLite, and outside such a block, a
rider is written by its caller at once."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, func, select

from sales.core import audit
from sales.core.audit_chain import verify
from sales.core.auth import Principal, Role
from sales.core.db import unit_of_work
from sales.core.tables import audit_log, outbox_events
from sales.notifications import service as notifications
from sales.notifications.models import notifications as notifications_table

AT = datetime(2026, 1, 17, 10, 0, tzinfo=UTC)
ADMIN = Principal(sub=uuid.uuid4(), roles=frozenset({Role.SALES_ADMIN}))


class _Sent:
    """The statements sent on the engine inside the block."""

    def __init__(self, engine) -> None:  # type: ignore[no-untyped-def]
        self.engine, self.statements = engine, []

    def _seen(self, _conn, _cursor, statement, *_) -> None:  # type: ignore[no-untyped-def]
        self.statements.append(statement)

    def __enter__(self) -> list[str]:
        event.listen(self.engine.sync_engine, "before_cursor_execute", self._seen)
        return self.statements

    def __exit__(self, *_) -> None:  # type: ignore[no-untyped-def]
        event.remove(self.engine.sync_engine, "before_cursor_execute", self._seen)


async def _request(conn, key: str) -> None:  # type: ignore[no-untyped-def]
    await notifications.request(conn, recipient_type="RM", recipient_id=uuid.uuid4(), template="lead_assigned",
                                dedupe_key=key, transactional=True, now=AT, data={
                                    "allocation_id": uuid.uuid4(), "lead_id": uuid.uuid4(), "priority": 3,
                                    "sla_deadline": AT, "is_reassignment": False})


async def _rows(engine):  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        stored = (await conn.execute(select(notifications_table.c.dedupe_key)
                                     .order_by(notifications_table.c.dedupe_key))).scalars().all()
        events = (await conn.execute(select(outbox_events.c.type, outbox_events.c.subject)
                                     .order_by(outbox_events.c.seq))).all()
        audited = (await conn.execute(select(func.count()).select_from(audit_log))).scalar_one()
        findings = (await verify(conn)).findings
    return list(stored), [tuple(e) for e in events], audited, findings


async def test_requests_ride_with_the_audit_rows_and_their_events_too(engine, backend):
    """Two notification requests inside one block: on PostgreSQL one statement in all (the head locked, the audit
    row hashed and written with the new head, both INSERTs and both events), two more the first time a partition
    is written (its head created, then the row alone); the events in recording order, the chain intact."""
    writes = []
    for entity in ("e1", "e1"):  # the same partition: its head is new the first time only
        with _Sent(engine) as sent:
            async with unit_of_work(engine) as conn:
                async with audit.deferred(conn, with_events=True):
                    await _request(conn, f"{len(writes)}-a")
                    await _request(conn, f"{len(writes)}-b")
                    await audit.record(conn, ADMIN, action="test.done", entity_type="test", entity_id=entity,
                                       at=AT)
                    if backend == "postgres":
                        assert [s for s in sent if "INSERT INTO" in s] == []
        writes.append([s for s in sent if s.lstrip().upper().startswith(("INSERT", "UPDATE", "WITH", "SELECT"))])
    stored, events, audited, findings = await _rows(engine)
    assert stored == ["0-a", "0-b", "1-a", "1-b"]
    assert [e[0] for e in events] == ["sales.notification.requested"] * 4
    assert (audited, findings) == (2, [])
    if backend == "postgres":
        assert [len(w) for w in writes] == [3, 1], writes
        [chained] = writes[1]
        assert "UPDATE audit_chain" in chained and chained.count("INSERT INTO notifications") == 2
        assert "INSERT INTO audit_log" in chained and "INSERT INTO outbox_events" in chained


async def test_a_taken_dedupe_key_rides_and_sends_nothing(engine, backend):
    """The key was used before: the rider inserts nothing and its event is not written (no duplicate request), on
    either database."""
    async with unit_of_work(engine) as conn:
        await _request(conn, "taken")
    async with unit_of_work(engine) as conn:
        async with audit.deferred(conn, with_events=True):
            await _request(conn, "taken")
            await audit.record(conn, ADMIN, action="test.done", entity_type="test", entity_id="e2", at=AT)
    stored, events, audited, findings = await _rows(engine)
    assert stored == ["taken"]
    assert [e[0] for e in events] == ["sales.notification.requested"]
    assert (audited, findings) == (1, [])


async def test_a_block_without_audit_rows_still_writes_its_riders(engine, backend):
    """No audit row to advance a head for: the riders are written anyway (with no partition's head touched)."""
    async with unit_of_work(engine) as conn:
        async with audit.deferred(conn, with_events=True):
            await _request(conn, "alone")
    stored, events, audited, findings = await _rows(engine)
    assert (stored, [e[0] for e in events], audited, findings) == (
        ["alone"], ["sales.notification.requested"], 0, [])


async def test_a_block_that_raises_writes_no_rider(engine, backend):
    with pytest.raises(RuntimeError):
        async with unit_of_work(engine) as conn:
            async with audit.deferred(conn, with_events=True):
                await _request(conn, "lost")
                await audit.record(conn, ADMIN, action="test.lost", entity_type="test", entity_id="e3", at=AT)
                raise RuntimeError("rolled back")
    assert await _rows(engine) == ([], [], 0, [])


async def test_outside_a_block_or_on_sqlite_a_rider_is_refused(engine, backend):
    """`ride` says False (the caller writes at once): outside a block, inside one without events, and on SQLite."""
    from sales.notifications import repository

    values = {"id": uuid.uuid4(), "dedupe_key": "asked", "recipient_type": "RM", "recipient_id": uuid.uuid4(),
              "team_id": None, "channel": None, "template": "t", "transactional": True, "status": "SUPPRESSED",
              "reason": "test", "data": {}, "created_at": AT}
    columns = tuple(values)
    rider = audit.Rider(key=("test-asked", columns), params=values,
                        build=lambda prefix: repository.insert_if_new_statement(True, columns, prefix))
    async with unit_of_work(engine) as conn:
        assert audit.ride(conn, rider) is False
        async with audit.deferred(conn):
            assert audit.ride(conn, rider) is False
        async with audit.deferred(conn, with_events=True):
            assert audit.ride(conn, rider) is (backend == "postgres")
    assert (await _rows(engine))[0] == (["asked"] if backend == "postgres" else [])
