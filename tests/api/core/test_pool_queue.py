"""Issue 19 (bursts): requests beyond the database pool wait for a connection in a bounded queue instead of
failing after a few seconds; only past the configured queue length is a request refused (503) at once."""
from __future__ import annotations

import asyncio

import pytest

from sales.core.db import PoolQueueFull, connect, create_engine

pytestmark = pytest.mark.postgres_only


async def test_waiters_beyond_the_pool_are_served_and_only_past_the_queue_refused(settings) -> None:
    engine = create_engine(settings.model_copy(update={"db_pool_size": 1, "db_queue_max": 1}))
    try:
        held = [await connect(engine, writes=False) for _ in range(2)]  # pool 1 + overflow 1: all taken
        queued = asyncio.create_task(connect(engine, writes=False))
        await asyncio.sleep(0.2)
        assert not queued.done()  # waiting in the queue, not refused
        with pytest.raises(PoolQueueFull):  # the queue (1) is full: refused at once, without waiting
            await connect(engine, writes=False)
        await held[0].close()
        served = await asyncio.wait_for(queued, timeout=60)  # the returned connection goes to the waiter
        await served.close()
        await held[1].close()
    finally:
        await engine.dispose()


async def test_queue_wait_is_the_configured_timeout_not_five_seconds(settings) -> None:
    engine = create_engine(settings.model_copy(update={"db_queue_timeout_seconds": 45.0}))
    try:
        assert engine.sync_engine.pool.timeout() == 45.0
    finally:
        await engine.dispose()


async def test_refused_request_is_a_503_problem(client, auth, app, monkeypatch) -> None:
    from sales.core import db

    def full(_engine):  # type: ignore[no-untyped-def]
        return True

    queue = db._queues[app.state.engine.sync_engine]
    monkeypatch.setattr(db, "_pool_exhausted", full)
    monkeypatch.setattr(queue, "limit", 0)
    response = await client.get("/api/v1/sales/pipelines", headers=auth.admin)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json()["code"] == "service_overloaded"
