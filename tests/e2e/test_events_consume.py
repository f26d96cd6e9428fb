"""Consumed events over JetStream: durable `sales` consumers, duplicates, malformed and failing events."""
from __future__ import annotations

import asyncio
import signal
import time
import uuid

import httpx
import nats
import orjson
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from sales.core.auth import issue_token
from sales.core.tables import inbox_events
from sales.events.jetstream import ensure_stream
from sales.pipelines.models import pipeline_stage_history
from sales.settings import Settings
from tests.e2e.event_harness import SECRET, free_port, pg_url, private_nats, start_server, start_worker  # noqa: F401

pytestmark = pytest.mark.e2e
API = "/api/v1/sales"


def _headers(role: str = "SALES_ADMIN") -> dict[str, str]:
    token = issue_token(Settings(env="test", jwt_secret=SECRET), sub=uuid.uuid4(), roles=[role])
    return {"Authorization": f"Bearer {token}"}


def _event(type_: str, data: dict, event_id: str | None = None) -> dict:
    return {"specversion": "1.0", "id": event_id or str(uuid.uuid4()), "source": "/mysqrft/leads", "type": type_,
            "time": "2026-01-10T10:00:00Z", "datacontenttype": "application/json", "data": data}


async def _statuses(url: str) -> dict[str, str]:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        rows = (await conn.execute(select(inbox_events.c.id, inbox_events.c.status))).all()
    await engine.dispose()
    return {r[0]: r[1] for r in rows}


async def _moves(url: str) -> int:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        n = (await conn.execute(select(func.count()).select_from(pipeline_stage_history)
                                .where(pipeline_stage_history.c.to_stage == "REQUIREMENTS_CAPTURED"))).scalar()
    await engine.dispose()
    return int(n)


async def _until(check, timeout: float = 30.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.1)


async def test_consumed_events_over_jetstream(pg_url, private_nats, tmp_path):  # noqa: F811
    port = free_port()
    server = start_server(tmp_path, pg_url, private_nats.url, port)
    env = {"SALES_EVENTS_MAX_ATTEMPTS": "2", "SALES_EVENTS_RETRY_BASE_SECONDS": "0.2",
           "SALES_WORKER_JOB_INTERVALS": "inbox-retry=0.5"}
    workers = [start_worker(tmp_path, pg_url, private_nats.url, "--no-relay", name=f"w{i}", **env) for i in range(2)]
    nc = await nats.connect(private_nats.url)
    js = nc.jetstream()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            team = (await client.post(f"{API}/teams", headers=_headers(), json={
                "name": "Consume", "city": "Pune", "supervisor_id": str(uuid.uuid4())})).json()
            rm = (await client.post(f"{API}/rms", headers=_headers(), json={
                "id": str(uuid.uuid4()), "name": "Asha", "email": "asha@mysqrft.com", "phone": "+91-9811111111",
                "team_id": team["id"], "city": "Pune", "zone": "West", "localities": ["Baner"],
                "property_types": ["RESIDENTIAL"], "segments": ["BUYER"], "capacity": 500,
                "base_salary": "40000.00", "performance_score": 70})).json()
            leads = [str(uuid.uuid4()) for _ in range(30)]
            for lead in leads:
                r = await client.post(f"{API}/pipelines", headers=_headers(), json={
                    "lead_id": lead, "rm_id": rm["id"], "source": "WEBSITE"})
                assert r.status_code == 201, r.text

            # the stream may already exist (created by a worker); publish once it does
            await ensure_stream(js, "LEADS", "leads.>")
            # every event delivered twice (a producer without msg ids, or a replay), to two workers at once
            events = [_event("leads.lead.qualified", {"lead_id": lead}) for lead in leads]
            for copy in range(2):
                for event in events:
                    await js.publish("leads.lead.qualified", orjson.dumps(event),
                                     headers={"Nats-Msg-Id": f"{event['id']}-{copy}"})
            ids = {e["id"] for e in events}
            await _until(lambda: _all(pg_url, ids, "PROCESSED"))
            assert await _moves(pg_url) == 30, "each qualified lead moved exactly once"

            unknown = _event("leads.lead.archived", {"lead_id": leads[0]})
            failing_lead = str(uuid.uuid4())
            failing = _event("leads.lead.qualified", {"lead_id": failing_lead})
            for event in (unknown, failing):
                await js.publish(f"leads.{event['type'].split('.', 1)[1]}", orjson.dumps(event))
            await js.publish("leads.lead.created", b"{not json")
            await js.publish("leads.lead.created", orjson.dumps({"specversion": "1.0", "id": "broken-1"}))

            await _until(lambda: _all(pg_url, {unknown["id"]}, "IGNORED"))
            await _until(lambda: _all(pg_url, {failing["id"], "broken-1"}, "PARKED"))
            parked = (await client.get(f"{API}/events/parked", headers=_headers())).json()["items"]
            by_id = {p["id"]: p for p in parked}
            assert by_id[failing["id"]]["attempts"] == 2 and "PipelineNotFound" in by_id[failing["id"]]["last_error"]
            assert "malformed envelope" in by_id["broken-1"]["last_error"]
            assert any(p["id"].startswith("nats:LEADS:") and p["envelope"] == {"raw": "{not json"} for p in parked)

            r = await client.post(f"{API}/pipelines", headers=_headers(), json={
                "lead_id": failing_lead, "rm_id": rm["id"], "source": "WEBSITE"})
            assert r.status_code == 201
            retry = await client.post(f"{API}/events/parked/{failing['id']}/retry", headers=_headers("SERVICE"))
            assert retry.status_code == 200 and retry.json()["status"] == "PROCESSED", retry.text
            assert await _moves(pg_url) == 31
    finally:
        await nc.close()
        codes = [w.kill(signal.SIGTERM) for w in workers]
        server.kill(signal.SIGTERM)
    assert codes == [0, 0], workers[0].log.read_text()[-3000:]
    info_nc = await nats.connect(private_nats.url)
    consumer = await info_nc.jetstream().consumer_info("LEADS", "sales")
    await info_nc.close()
    assert consumer.num_pending == 0 and consumer.num_ack_pending == 0, "every message acknowledged"


async def _all(url: str, ids: set[str], status: str) -> bool:
    statuses = await _statuses(url)
    return all(statuses.get(i) == status for i in ids)
