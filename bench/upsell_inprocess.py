#!/usr/bin/env python3
"""Issue 19: POST /upsells as SERVICE in process (real app over ASGI, production settings) on a seeded database.

    SALES_DATABASE_URL=... .venv/bin/python bench/upsell_inprocess.py [--requests 300] [--profile out.txt|out.pstats]
    SALES_DATABASE_URL=... .venv/bin/python bench/upsell_inprocess.py --dump out.json --requests 200

As the harness's `upsell_create` does: a campaign offer of the customer's next plan up, through the gating (201, or
409 upsell_suppressed after 3 offers in a week: UPR-005). The customers (plans, and the paying half's orders) are
made first through a served instance, as the harness makes them. Prints one JSON line: process CPU per request
(not wall time: the machine is shared), statements per request and the status codes. `--profile` writes a
pyinstrument tree, or a cProfile table for a `.pstats` name. `--dump` freezes the business clock and writes every
response and the rows the requests wrote (upsells, decisions, audit; ids and hashes left out) to compare two
versions of the code on two clones of one seed. The upsells stay in the database (use a clone).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import event, text

from sales.bench import capture
from sales.bench.seed import upsell_customers
from sales.bench.server import bench_token, running_service
from sales.core.clock import wall_now
from sales.settings import get_settings

API = capture.API
FROZEN = datetime(2027, 1, 4, 10, 0, tzinfo=UTC)  # --dump: after anything an earlier run wrote
_IDS = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def make_customers(n: int, now: datetime) -> list[dict]:
    settings = get_settings()
    with running_service(settings, settings.database_url, workers=1, with_worker=False) as service:
        return upsell_customers(service["url"], n, random.Random(11), now)


async def main(requests: int, profile: str | None, dump: str | None) -> dict:
    from sales.app import create_app
    from sales.core.db import create_engine

    customers = make_customers(200, FROZEN if dump else wall_now())
    settings = capture._app_settings(get_settings())
    engine = create_engine(settings)
    app = create_app(settings, engine=engine)
    rng = random.Random(16)
    statements = [0]
    event.listen(engine.sync_engine, "before_cursor_execute", lambda *a: statements.__setitem__(0, statements[0] + 1))
    codes: Counter = Counter()
    headers = {"Authorization": f"Bearer {bench_token(uuid.UUID(int=16), ['SERVICE'])}"}
    answers: list = []
    if dump:  # the business clock frozen, one second on per request (production has no test clock)
        from sales.core import http as core_http
        tick = [0]

        async def frozen_now(conn, *, frozen_allowed):  # noqa: ANN001, ARG001
            tick[0] += 1
            return FROZEN + timedelta(seconds=tick[0])
        core_http.business_now = frozen_now

    def body() -> dict:
        return {**rng.choice(customers), "trigger_event": "CAMPAIGN", "channel": "IN_APP_BANNER",
                "trigger_context": {"campaign": "bench"}}

    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
            for _ in range(20):  # warm-up: caches, prepared statements
                await client.post(f"{API}/upsells", json=body(), headers=headers)
            statements[0] = 0
            profiler = cprofile = None
            if profile and profile.endswith(".pstats"):
                import cProfile
                cprofile = cProfile.Profile(time.process_time)
                cprofile.enable()
            elif profile:
                from pyinstrument import Profiler
                profiler = Profiler(async_mode="enabled")
                profiler.start()
            cpu, wall = time.process_time(), time.perf_counter()
            for _ in range(requests):
                response = await client.post(f"{API}/upsells", json=body(), headers=headers)
                codes[response.status_code] += 1
                if dump:
                    answers.append([response.status_code, _IDS.sub("<id>", response.text)])
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            if cprofile:
                cprofile.disable()
                cprofile.dump_stats(profile)
            if profiler:
                profiler.stop()
                open(profile, "w").write(profiler.output_text(unicode=False, show_all=False))  # type: ignore[arg-type]
        if dump:
            async with engine.connect() as conn:
                rows = {table: sorted(_IDS.sub("<id>", json.dumps(list(r), default=str)) for r in (
                    await conn.execute(text(f"SELECT {columns} FROM {table} WHERE {at} >= :frozen"),
                                       {"frozen": FROZEN})).all())
                    for table, columns, at in (
                        ("upsells", "status, channel, trigger_event, created_at, expires_at, message", "created_at"),
                        ("upsell_decisions", "outcome, requested_channel, channel, rules, decided_at", "decided_at"),
                        ("audit_log", "action, entity_type, at, after", "at"))}
            with open(dump, "w") as out:
                json.dump({"responses": answers, "rows": rows}, out, indent=0, sort_keys=True)
    finally:
        await engine.dispose()
    return {"requests": requests, "cpu_ms": round(cpu * 1000 / requests, 3),
            "wall_ms": round(wall * 1000 / requests, 3), "statements": round(statements[0] / requests, 2),
            "codes": dict(codes), "load": [round(x, 2) for x in os.getloadavg()]}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--profile")
    parser.add_argument("--dump")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.requests, args.profile, args.dump))))
