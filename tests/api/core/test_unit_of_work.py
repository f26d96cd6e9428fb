"""One transaction per request: a failed request writes nothing, not even what it wrote before failing."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from sales.core import audit, outbox
from sales.core.auth import Principal, Role
from sales.core.db import unit_of_work
from sales.core.errors import Conflict
from sales.core.jobs import JOBS, Job
from tests.builders import API
from tests.checks import assert_problem, audit_rows, row_counts

SYSTEM = Principal(sub=uuid.uuid4(), roles=frozenset({Role.SERVICE}))


async def _writes_then(conn, now: datetime, *, fail: bool):  # type: ignore[no-untyped-def]
    lead_id = uuid.uuid4()
    await outbox.record(conn, type_="sales.lead.queued", subject=lead_id, data={"lead_id": lead_id}, at=now)
    await audit.record(conn, SYSTEM, action="test.ran", entity_type="test", entity_id="1", at=now)
    if fail:
        raise Conflict("changed my mind")
    return {"processed": 1}


@pytest.fixture
def jobs(monkeypatch):  # type: ignore[no-untyped-def]
    async def ok(conn, now):  # type: ignore[no-untyped-def]
        return await _writes_then(conn, now, fail=False)

    async def fails(conn, now):  # type: ignore[no-untyped-def]
        return await _writes_then(conn, now, fail=True)

    monkeypatch.setitem(JOBS, "test-ok", Job("test-ok", ok, 60))
    monkeypatch.setitem(JOBS, "test-fails", Job("test-fails", fails, 60))


async def test_successful_request_commits_its_writes(client, auth, engine, jobs):
    response = await client.post(f"{API}/admin/jobs/test-ok/run", headers=auth.admin)
    assert response.status_code == 200 and response.json() == {"job": "test-ok", "processed": 1}
    counts = await row_counts(engine)
    assert counts["outbox_events"] == 1 and counts["audit_log"] == 1


async def test_request_failing_after_writing_rolls_everything_back(client, auth, engine, jobs):
    before = await row_counts(engine)
    response = await client.post(f"{API}/admin/jobs/test-fails/run", headers=auth.admin)
    assert_problem(response, 409, "conflict")
    assert await row_counts(engine) == before


async def test_unexpected_error_is_a_500_problem_and_rolls_back(client, auth, engine, monkeypatch):
    async def broken(conn, now):  # type: ignore[no-untyped-def]
        await _writes_then(conn, now, fail=False)
        raise RuntimeError("bug")

    monkeypatch.setitem(JOBS, "test-broken", Job("test-broken", broken, 60))
    before = await row_counts(engine)
    response = await client.post(f"{API}/admin/jobs/test-broken/run", headers=auth.admin)
    body = assert_problem(response, 500, "internal_error")
    assert "bug" not in body["detail"]
    assert await row_counts(engine) == before


async def test_a_released_savepoint_is_undone_with_its_transaction(engine):
    """issue 9 item 4: SQLAlchemy begins SQLite's transactions itself, so a SAVEPOINT taken before any write
    belongs to the transaction (the driver's legacy mode made its RELEASE a commit of its own)."""
    with pytest.raises(Conflict):
        async with unit_of_work(engine) as conn:
            async with conn.begin_nested():
                await audit.record(conn, SYSTEM, action="test.nested", entity_type="test", entity_id="1",
                                   at=datetime(2026, 1, 17, tzinfo=UTC))
            raise Conflict("changed my mind")
    assert await audit_rows(engine, action="test.nested") == []
