#!/usr/bin/env python3
"""Issue 19: the supervisor's and the RM's reads in process (real app over ASGI, production settings).

    SALES_DATABASE_URL=... .venv/bin/python bench/reads_inprocess.py [--requests 300] [--dump DIR] [--profile OP]

Measures GET /allocations/workload?team_id= and GET /pipelines/stats?team_id= as a team's supervisor, the same
two as an admin (org-wide), GET /allocations/rm/{id}/queue and GET /pipelines?limit=250 / 50 as the RM
(`--ops list250,list50`). Prints one JSON line per operation: process CPU per request (not wall time: the machine is shared), statements per request, and status codes.
`--dump DIR` writes each operation's response bytes for a fixed set of callers (to compare two versions byte for
byte). Read-only apart from the harness's helper tables (bench_rm_ids, bench_localities).
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
from pathlib import Path

import httpx
from sqlalchemy import event

from sales.bench import capture
from sales.bench.harness import asyncpg_dsn, build_world
from sales.bench.server import bench_token
from sales.settings import get_settings

API = capture.API


async def main(requests: int, dump: str | None, profile: str | None, ops: list[str]) -> list[dict]:
    from sales.app import create_app
    from sales.core.db import create_engine

    settings = capture._app_settings(get_settings())
    world = await build_world(asyncpg_dsn(settings.database_url), 50, random.Random(6))
    engine = create_engine(settings)
    app = create_app(settings, engine=engine)
    statements = [0]
    event.listen(engine.sync_engine, "before_cursor_execute", lambda *a: statements.__setitem__(0, statements[0] + 1))
    admin = {"Authorization": f"Bearer {bench_token(uuid.UUID(int=7), ['SALES_ADMIN'])}"}
    sups, rms = world["supervisors"], world["rms"]
    calls = {
        "workload": lambda i: (f"{API}/allocations/workload?team_id={sups[i % len(sups)]['team_id']}",
                               sups[i % len(sups)]["token"]),
        "stats": lambda i: (f"{API}/pipelines/stats?team_id={sups[i % len(sups)]['team_id']}",
                            sups[i % len(sups)]["token"]),
        "queue": lambda i: (f"{API}/allocations/rm/{rms[i % len(rms)]['id']}/queue", rms[i % len(rms)]["token"]),
        "list250": lambda i: (f"{API}/pipelines?limit=250", rms[i % len(rms)]["token"]),
        "list50": lambda i: (f"{API}/pipelines?limit=50", rms[i % len(rms)]["token"]),
        "workload_admin": lambda i: (f"{API}/allocations/workload?team_id={sups[i % len(sups)]['team_id']}", None),
        "stats_admin": lambda i: (f"{API}/pipelines/stats", None),
        "workload_admin_city": lambda i: (f"{API}/allocations/workload?city=Pune", None),
    }
    out = []
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
            async def call(op: str, i: int) -> httpx.Response:
                url, token = calls[op](i)
                return await client.get(url, headers=admin if token is None else {"Authorization": f"Bearer {token}"})

            if dump:  # at a fixed business instant, so that two versions' bytes compare
                from datetime import UTC, datetime

                from sales.core.http import get_now
                app.dependency_overrides[get_now] = lambda: datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
                Path(dump).mkdir(parents=True, exist_ok=True)
                for op in calls:
                    for i in range(6):
                        r = await call(op, i * 7)
                        Path(dump, f"{op}-{i}.json").write_bytes(
                            str(r.status_code).encode() + b"\n" + r.content)
                # a supervisor reading another team's room, an RM another RM's queue
                url, _ = calls["workload"](1)
                r = await client.get(url, headers={"Authorization": f"Bearer {sups[0]['token']}"})
                Path(dump, "workload-foreign.json").write_bytes(str(r.status_code).encode() + b"\n" + r.content)
                url, _ = calls["queue"](1)
                r = await client.get(url, headers={"Authorization": f"Bearer {rms[0]['token']}"})
                Path(dump, "queue-foreign.json").write_bytes(str(r.status_code).encode() + b"\n" + r.content)
                app.dependency_overrides.clear()
            for op in ops:
                for i in range(20):
                    await call(op, i)
                statements[0] = 0
                codes: Counter = Counter()
                profiler = None
                if profile == op:
                    from pyinstrument import Profiler
                    profiler = Profiler(async_mode="enabled")
                    profiler.start()
                cpu, wall = time.process_time(), time.perf_counter()
                for i in range(requests):
                    codes[(await call(op, i)).status_code] += 1
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                if profiler:
                    profiler.stop()
                    Path(f"/tmp/reads-profile-{op}.txt").write_text(profiler.output_text(unicode=False, show_all=False))
                out.append({"op": op, "requests": requests, "cpu_ms": round(cpu * 1000 / requests, 3),
                            "wall_ms": round(wall * 1000 / requests, 3),
                            "statements": round(statements[0] / requests, 2), "codes": dict(codes),
                            "load": [round(x, 2) for x in os.getloadavg()]})
    finally:
        await engine.dispose()
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--dump")
    parser.add_argument("--profile")
    parser.add_argument("--ops", default="workload,stats,queue")
    args = parser.parse_args()
    for line in asyncio.run(main(args.requests, args.dump, args.profile, args.ops.split(","))):
        print(json.dumps(line))
