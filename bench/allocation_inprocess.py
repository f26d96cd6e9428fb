#!/usr/bin/env python3
"""Issue 19 step 4: POST /allocations in process (real app over ASGI, production settings) on a seeded database.

    SALES_DATABASE_URL=... .venv/bin/python bench/allocation_inprocess.py [--requests 300] [--profile out.txt]

New leads (fresh ids every run) go to random seeded localities, as the harness's intake does. Prints one JSON
line: process CPU per allocation (not wall time: the machine is shared), the statements per allocation, and the
status codes. The allocations it makes stay in the database (re-seed with `sales bench seed --replace` when that
matters).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
import uuid
from collections import Counter

import httpx
from sqlalchemy import event

from sales.bench import capture
from sales.bench.harness import asyncpg_dsn, build_world
from sales.settings import get_settings

API = capture.API


async def main(requests: int, profile: str | None) -> dict:
    from sales.app import create_app
    from sales.core.db import create_engine

    settings = capture._app_settings(get_settings())
    world = await build_world(asyncpg_dsn(settings.database_url), 50, random.Random(6))
    engine = create_engine(settings)
    app = create_app(settings, engine=engine)
    rng = random.Random(19)
    statements = [0]
    event.listen(engine.sync_engine, "before_cursor_execute", lambda *a: statements.__setitem__(0, statements[0] + 1))
    codes: Counter = Counter()
    headers = {"Authorization": f"Bearer {world['intake']['token']}"}

    def body() -> dict:
        loc = rng.choice(world["localities"])
        return {"lead_id": str(uuid.uuid4()), "city": loc["city"],
                "zone": loc["zone"], "locality": loc["locality"], "property_type": loc["property_types"][0],
                "segment": loc["segments"][0], "expected_deal_value": "1500000.00", "source": "WEBSITE",
                "customer": {"name": "Bench Lead", "phone": f"+91-9{rng.randrange(10**8, 10**9)}"}}

    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
            for _ in range(20):  # warm-up: caches, prepared statements
                await client.post(f"{API}/allocations", json=body(), headers=headers)
            statements[0] = 0
            profiler = None
            if profile:
                from pyinstrument import Profiler
                profiler = Profiler(async_mode="enabled")
                profiler.start()
            cpu, wall = time.process_time(), time.perf_counter()
            for _ in range(requests):
                response = await client.post(f"{API}/allocations", json=body(), headers=headers)
                codes[response.status_code] += 1
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            if profiler:
                profiler.stop()
                open(profile, "w").write(profiler.output_text(unicode=False, show_all=False))
    finally:
        await engine.dispose()
    return {"requests": requests, "cpu_ms": round(cpu * 1000 / requests, 3),
            "wall_ms": round(wall * 1000 / requests, 3), "statements": round(statements[0] / requests, 2),
            "codes": dict(codes)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--profile")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.requests, args.profile))))
