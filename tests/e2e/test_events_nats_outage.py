"""NATS goes away: API writes keep succeeding, the outbox grows, and it drains when NATS returns."""
from __future__ import annotations

import asyncio
import signal
import time
import uuid

import httpx
import pytest

from sales.core.auth import issue_token
from sales.settings import Settings
from tests.e2e.event_harness import (SECRET, assert_delivered_once_in_order, free_port, outbox_counts,  # noqa: F401
                                     pg_url, private_nats, read_stream, start_server, start_worker,
                                     wait_published)

pytestmark = pytest.mark.e2e
API = "/api/v1/sales"


def _admin() -> dict[str, str]:
    token = issue_token(Settings(env="test", jwt_secret=SECRET), sub=uuid.uuid4(), roles=["SALES_ADMIN"])
    return {"Authorization": f"Bearer {token}"}


async def _pipelines(client: httpx.AsyncClient, rm_id: str, n: int) -> list[str]:
    ids = []
    for _ in range(n):
        r = await client.post(f"{API}/pipelines", headers=_admin(), json={
            "lead_id": str(uuid.uuid4()), "rm_id": rm_id, "source": "WEBSITE", "deal_value": 1500.50})
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
        r = await client.patch(f"{API}/pipelines/{ids[-1]}/stage", json={"stage": "CONTACTED"}, headers=_admin())
        assert r.status_code == 200, r.text
    return ids


async def test_nats_down_then_back(pg_url, private_nats, tmp_path):  # noqa: F811
    port = free_port()
    server = start_server(tmp_path, pg_url, private_nats.url, port)
    worker = start_worker(tmp_path, pg_url, private_nats.url, "--no-jobs", "--no-consume")
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            team = (await client.post(f"{API}/teams", headers=_admin(), json={
                "name": "Outage", "city": "Pune", "supervisor_id": str(uuid.uuid4())})).json()
            rm = await client.post(f"{API}/rms", headers=_admin(), json={
                "id": str(uuid.uuid4()), "name": "Asha", "email": "asha@mysqrft.com", "phone": "+91-9811111111",
                "team_id": team["id"], "city": "Pune", "zone": "West", "localities": ["Baner"],
                "property_types": ["RESIDENTIAL"], "segments": ["BUYER"], "capacity": 500,
                "base_salary": "40000.00", "performance_score": 70})
            assert rm.status_code == 201, rm.text
            rm_id = rm.json()["id"]
            await _pipelines(client, rm_id, 5)
            await wait_published(pg_url, 10, timeout=30)

            private_nats.stop()
            before = time.monotonic()
            await _pipelines(client, rm_id, 100)  # 200 more events while NATS is down
            write_s = time.monotonic() - before
            total, published = await outbox_counts(pg_url)
            assert (total, published) == (210, 10), "nothing can be published while NATS is down"
            await asyncio.sleep(2)
            assert worker.popen.poll() is None, "the relay keeps retrying instead of dying"

            private_nats.start()
            back = time.monotonic()
            await wait_published(pg_url, 210, timeout=90)
            drain_s = time.monotonic() - back
            print(f"\nNATS OUTAGE: 200 API-written events during the outage ({write_s:.1f}s of writes); "
                  f"drained {drain_s:.2f}s after NATS returned")
    finally:
        code = worker.kill(signal.SIGTERM)
        server.kill(signal.SIGTERM)
    assert code == 0, worker.log.read_text()[-3000:]
    retries = [line for line in worker.lines() if line.get("event") == "relay retrying"]
    assert retries and max(line["delay_s"] for line in retries) > 0.5, "backs off while NATS is down"

    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import create_async_engine

    from sales.core.tables import outbox_events as o
    engine = create_async_engine(pg_url)
    async with engine.connect() as conn:
        rows = (await conn.execute(select(o.c.id, o.c.subject).order_by(o.c.pos))).all()
    await engine.dispose()
    order: dict[str, list[str]] = {}
    for event_id, subject in rows:
        order.setdefault(subject, []).append(str(event_id))
    stored = await read_stream(private_nats.url, start_seq=1, want={str(r[0]) for r in rows})
    assert_delivered_once_in_order(order, stored)
