"""The invariant checks of `sales ops restore-drill` and the crash-safety test (issue 20, PRD §8.3) find what they
promise: a clean outbox passes; a half-written event and an aggregate's events positioned out of write order do not;
an edited audit row is reported."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select, update

from sales.core import audit, outbox
from sales.core.tables import audit_log, outbox_events
from sales.events import repository
from sales.ops import invariants

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def _stage_changes(engine, subject: str, n: int) -> list[uuid.UUID]:  # type: ignore[no-untyped-def]
    ids = []
    for step in range(n):   # one transaction each, as successive requests would
        async with engine.begin() as conn:
            ids.append(await outbox.record(conn, type_="sales.pipeline.stage_changed", subject=subject, at=AT, data={
                "pipeline_id": subject, "lead_id": subject, "rm_id": subject, "old_stage": "NEW",
                "new_stage": "CONTACTED", "changed_by": None, "reason": f"step {step}"}))
    async with engine.begin() as conn:
        await repository.sequence(conn)
    return ids


async def _outbox_problems(engine) -> list[str]:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        return await invariants.outbox_problems(conn)


async def test_a_whole_outbox_in_write_order_has_no_problems(engine):  # type: ignore[no-untyped-def]
    await _stage_changes(engine, str(uuid.uuid4()), 3)
    await _stage_changes(engine, str(uuid.uuid4()), 2)
    assert await _outbox_problems(engine) == []
    async with engine.connect() as conn:
        counts = await invariants.row_counts(conn)
    assert counts["outbox_events"] == 5 and counts["rm_allocations"] == 0


async def test_an_aggregate_positioned_out_of_write_order_is_reported(engine):  # type: ignore[no-untyped-def]
    subject = str(uuid.uuid4())
    first, _, _ = await _stage_changes(engine, subject, 3)
    async with engine.begin() as conn:   # the first event delivered last
        await conn.execute(update(outbox_events).where(outbox_events.c.id == first).values(pos=1000))
    assert await _outbox_problems(engine) == [
        f"outbox: events of aggregate {subject} are positioned out of write order"]


async def test_a_half_written_or_unpositioned_published_event_is_reported(engine):  # type: ignore[no-untyped-def]
    first, second = await _stage_changes(engine, str(uuid.uuid4()), 2)
    async with engine.begin() as conn:
        seqs = dict((await conn.execute(select(outbox_events.c.id, outbox_events.c.seq))).all())
        envelope = (await conn.execute(select(outbox_events.c.envelope).where(outbox_events.c.id == second))).scalar()
        await conn.execute(update(outbox_events).where(outbox_events.c.id == first).values(envelope=envelope))
        await conn.execute(update(outbox_events).where(outbox_events.c.id == second).values(pos=None, published_at=AT))
    assert await _outbox_problems(engine) == [
        f"outbox seq {seqs[first]}: envelope does not match its row (half-written event)",
        f"outbox seq {seqs[second]}: published without a commit position"]


async def test_an_edited_audit_row_is_reported(engine):  # type: ignore[no-untyped-def]
    async with engine.begin() as conn:
        await audit.record(conn, None, action="pipeline.stage_changed", entity_type="pipeline",
                           entity_id=uuid.uuid4(), at=AT, after={"stage": "CONTACTED"})
    async with engine.connect() as conn:
        assert await invariants.audit_problems(conn) == []
    async with engine.begin() as conn:
        await conn.execute(update(audit_log).values(action="pipeline.deleted"))
    async with engine.connect() as conn:
        [finding] = await invariants.audit_problems(conn)
    assert "content does not match its hash (edited)" in finding
