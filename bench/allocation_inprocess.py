#!/usr/bin/env python3
"""Issue 19 step 4: POST /allocations in process (real app over ASGI, production settings) on a seeded database.

    SALES_DATABASE_URL=... .venv/bin/python bench/allocation_inprocess.py [--requests 300] [--profile out.txt]
    SALES_DATABASE_URL=... .venv/bin/python bench/allocation_inprocess.py --show-statements
    SALES_DATABASE_URL=... .venv/bin/python bench/allocation_inprocess.py --dump out.json --requests 300

New leads (fresh ids every run) go to random seeded localities, as the harness's intake does. Prints one JSON
line: process CPU per allocation (not wall time: the machine is shared; user and system apart: the system share is
mostly the socket round trips to PostgreSQL), the statements per allocation, and the status codes. The allocations
it makes stay in the database (re-seed with `sales bench seed --replace` when that matters).

`--show-statements` prints the statements of one allocation. `--city-stage` puts the leads in a locality no RM lists
(the whole city ranked, as the harness's allocation_city). `--dump` checks that a change keeps behaviour: it
freezes the business clock (the day after the seed's newest write, 06:00 UTC, one second later per request), draws
lead ids, request ids and every `uuid4()` the service makes from fixed seeds, and mixes in the other paths of the
endpoint (a re-posted allocated lead: 200; a locality no RM lists: the city stage; a city without RMs: 202 queued,
re-posted with new facts; a supervisor's lead, engine-placed or with a named RM). It writes every response (status,
headers, body) and the rows the requests wrote (leads with their PII decrypted, allocations, pipelines, outbox,
audit rows and chain heads, notifications, RM counters, queue alerts) to a JSON file: run it with the old and the new
code on two fresh clones of the same seed (`createdb -T bench_x bench_x_a`) and compare the files byte for byte.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import httpx
from sqlalchemy import event

from sales.bench import capture
from sales.bench.harness import asyncpg_dsn, build_world
from sales.bench.load import UNLISTED_LOCALITY
from sales.settings import get_settings

API = capture.API


async def main(requests: int, profile: str | None, show: bool = False, dump: str | None = None,
               city_stage: bool = False) -> dict:
    from sales.app import create_app
    from sales.core.db import create_engine

    settings = capture._app_settings(get_settings())
    dsn = asyncpg_dsn(settings.database_url)
    world = await build_world(dsn, 50, random.Random(6))
    mix = await _Mix.prepare(dsn, world) if dump else None
    engine = create_engine(settings)
    app = create_app(settings, engine=engine)
    rng = random.Random(19)
    statements: list[str] = []
    event.listen(engine.sync_engine, "before_cursor_execute", lambda _c, _cur, sql, *a: statements.append(sql))
    codes: Counter = Counter()
    headers = {"Authorization": f"Bearer {world['intake']['token']}"}

    def body() -> dict:
        loc = rng.choice(world["localities"])
        return {"lead_id": str(uuid.uuid4()), "city": loc["city"], "zone": loc["zone"],
                "locality": "No RM Lists This" if city_stage else loc["locality"],
                "property_type": loc["property_types"][0],
                "segment": loc["segments"][0], "expected_deal_value": "1500000.00", "source": "WEBSITE",
                "customer": {"name": "Bench Lead", "phone": f"+91-9{rng.randrange(10**8, 10**9)}"}}

    async def one(client: httpx.AsyncClient) -> None:
        if mix is None:
            response = await client.post(f"{API}/allocations", json=body(), headers=headers)
        else:
            response = await mix.post(client)
        codes[response.status_code] += 1

    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
            for _ in range(20 if mix is None else 0):  # warm-up: caches, prepared statements
                await one(client)
            if show:
                return await capture.show_statements(one, client, statements, codes)
            statements.clear()
            codes.clear()
            profiler = None
            if profile:
                from pyinstrument import Profiler
                profiler = Profiler(async_mode="enabled")
                profiler.start()
            cpu, wall, times = time.process_time(), time.perf_counter(), os.times()
            for _ in range(requests):
                await one(client)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            user, system = os.times().user - times.user, os.times().system - times.system
            if profiler:
                profiler.stop()
                open(profile, "w").write(profiler.output_text(unicode=False, show_all=False))
    finally:
        await engine.dispose()
    if mix is not None:
        with open(dump, "w") as out:  # type: ignore[arg-type]
            json.dump({"responses": mix.responses, "rows": await mix.rows_written()}, out, indent=0)
    return {"requests": requests, "cpu_ms": round(cpu * 1000 / requests, 3),
            "user_ms": round(user * 1000 / requests, 3), "system_ms": round(system * 1000 / requests, 3),
            "wall_ms": round(wall * 1000 / requests, 3), "statements": round(len(statements) / requests, 2),
            "codes": dict(codes)}


class _Mix:
    """The `--dump` run: every path of POST /allocations, reproducibly."""

    def __init__(self, dsn: str, world: dict, frozen: datetime, teams: list[dict]) -> None:
        self.dsn, self.world, self.frozen, self.teams = dsn, world, frozen, teams
        self.rng = random.Random(1919)
        self.sent: list[dict] = []       # the bodies posted, by the intake (re-posted later)
        self.queued: list[dict] = []     # the bodies answered 202
        self.responses: list[list[Any]] = []

    @classmethod
    async def prepare(cls, dsn: str, world: dict) -> _Mix:
        """Freeze the clock after the seed's newest write and make the service's `uuid4()` reproducible; read the
        supervised teams with their city's RMs (for the supervisor's requests)."""
        from sales.core import http as core_http

        conn = await asyncpg.connect(dsn)
        try:
            newest = await conn.fetchval(
                "SELECT greatest((SELECT max(updated_at) FROM leads), (SELECT max(updated_at) FROM rm_allocations), "
                "(SELECT max(at) FROM audit_log), (SELECT max(created_at) FROM outbox_events))")
            teams = []
            for team in world["supervisors"]:
                rms = await conn.fetch("SELECT id, city FROM rms WHERE team_id = $1 AND status = 'ACTIVE' "
                                       "AND NOT is_backup ORDER BY id", uuid.UUID(team["team_id"]))
                if rms and any(loc["city"] == rms[0]["city"] for loc in world["localities"]):
                    teams.append({**team, "city": rms[0]["city"], "rm_ids": [str(r["id"]) for r in rms]})
        finally:
            await conn.close()
        frozen = newest.replace(hour=6, minute=0, second=0, microsecond=0) + timedelta(days=1)
        tick = [0]

        async def frozen_now(conn, *, frozen_allowed):  # noqa: ANN001, ARG001
            tick[0] += 1
            return frozen + timedelta(seconds=tick[0])

        core_http.business_now = frozen_now
        ids = random.Random(4)
        uuid.uuid4 = lambda: uuid.UUID(int=ids.getrandbits(128), version=4)
        return cls(dsn, world, frozen, teams)

    def _lead(self, *, city: str | None = None, locality: str | None = None) -> dict:
        rng = self.rng
        loc = rng.choice([loc for loc in self.world["localities"] if city is None or loc["city"] == city])
        segment = rng.choice(loc["segments"])
        body = {"lead_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)), "city": loc["city"],
                "zone": loc["zone"], "locality": locality or loc["locality"],
                "property_type": rng.choice(loc["property_types"]), "segment": segment,
                "expected_deal_value": f"{rng.randrange(10, 400) * 5000}.00", "source": "WEBSITE",
                "customer": {"name": f"Lead {rng.randrange(10**4)}", "phone": f"+91-9{rng.randrange(10**8, 10**9)}"}}
        if rng.random() < 0.5:
            body["customer"]["email"] = f"lead.{rng.randrange(10**6)}@example.com"
        if rng.random() < 0.3:
            body["intent"] = {"budget": str(rng.randrange(50, 200) * 100000), "visits": rng.randrange(4)}
        return body

    def _request(self, n: int) -> tuple[dict, str]:
        """The n-th request: (body, bearer token)."""
        intake = self.world["intake"]["token"]
        kind = n % 20
        if kind in (3, 13) and self.sent:  # the same delivery again: the live allocation, 200
            return dict(self.rng.choice(self.sent)), intake
        if kind == 5:  # the city stage
            body = self._lead(locality=UNLISTED_LOCALITY)
        elif kind == 7:  # no RM in the city: queued
            body = {**self._lead(), "city": "Nowhere Town", "zone": None, "locality": "Nowhere"}
            self.queued.append(body)
        elif kind == 17 and self.queued:  # a queued lead delivered again with new facts: queued again
            earlier = self.rng.choice(self.queued)
            body = {**earlier, "expected_deal_value": "2500000.00",
                    "customer": {"name": "Renamed Lead", "phone": f"+91-8{self.rng.randrange(10**8, 10**9)}"}}
        elif kind in (9, 19) and self.teams:  # a supervisor's lead in their team's city: engine, or a named RM
            team = self.rng.choice(self.teams)
            body = self._lead(city=team["city"])
            if kind == 19:
                body.update(rm_id=self.rng.choice(team["rm_ids"]), reason="walk-in at the office")
            return body, team["token"]
        else:
            body = self._lead()
        self.sent.append(body)
        return body, intake

    async def post(self, client: httpx.AsyncClient) -> httpx.Response:
        n = len(self.responses)
        body, token = self._request(n)
        response = await client.post(f"{API}/allocations", json=body, headers={
            "Authorization": f"Bearer {token}", "X-Request-ID": f"dump{n:05d}"})
        self.responses.append([n, body["lead_id"], response.status_code, sorted(response.headers.items()),
                               response.text])
        return response

    async def rows_written(self) -> dict[str, list[list[str]]]:
        from sales.core.pii import cipher

        aead = cipher()
        conn = await asyncpg.connect(self.dsn)
        try:
            lead_ids = sorted({uuid.UUID(r[1]) for r in self.responses})
            rows = {}
            for name, sql in DUMP_QUERIES.items():
                records = await conn.fetch(sql, *([self.frozen] if "$1" in sql else []),
                                           *([lead_ids] if "$2" in sql else []))
                rows[name] = [[str(v) for v in r.values()] for r in records]
            rows["lead_contacts"] = [[str(r["id"]), *(aead.decrypt(r[c]) for c in PII)] for r in await conn.fetch(
                "SELECT id, customer_name, customer_phone, customer_email FROM leads WHERE id = ANY($1) ORDER BY id",
                lead_ids)]
        finally:
            await conn.close()
        return rows


PII = ("customer_name", "customer_phone", "customer_email")
DUMP_QUERIES = {  # $1: the frozen instant (nothing seeded is later), $2: the posted lead ids
    "leads": "SELECT id, customer_id, city, zone, locality, property_type, segment, expected_deal_value, source, "
             "intent::text, priority, allocation_status, queue_reason, queued_at, sla_breaches, created_at, updated_at "
             "FROM leads WHERE updated_at > $1 OR id = ANY($2) ORDER BY id",
    "allocations": "SELECT * FROM rm_allocations WHERE updated_at > $1 OR lead_id = ANY($2) ORDER BY allocated_at, id",
    "pipelines": "SELECT * FROM sales_pipelines WHERE updated_at > $1 OR lead_id = ANY($2) ORDER BY created_at, id",
    "outbox": "SELECT * FROM outbox_events WHERE created_at > $1 ORDER BY seq",
    "audit": "SELECT * FROM audit_log WHERE at > $1 ORDER BY seq",
    "audit_chain": "SELECT * FROM audit_chain ORDER BY partition",
    "notifications": "SELECT * FROM notifications WHERE created_at > $1 ORDER BY created_at, dedupe_key",
    "history": "SELECT * FROM pipeline_stage_history WHERE changed_at > $1 ORDER BY seq",
    "rms": "SELECT * FROM rms ORDER BY id",
    "alerts": "SELECT * FROM allocation_queue_alerts ORDER BY key",
}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--profile")
    parser.add_argument("--show-statements", action="store_true")
    parser.add_argument("--dump")
    parser.add_argument("--city-stage", action="store_true",
                        help="leads in a locality no RM lists: the city's whole pool (the harness's allocation_city)")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.requests, args.profile, args.show_statements, args.dump, args.city_stage))))
