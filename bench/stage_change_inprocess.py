#!/usr/bin/env python3
"""Issue 19: PATCH /pipelines/{id}/stage in process (real app over ASGI, production settings) on a seeded database.

    SALES_DATABASE_URL=... .venv/bin/python bench/stage_change_inprocess.py [--requests 300] [--profile out.txt]
    SALES_DATABASE_URL=... .venv/bin/python bench/stage_change_inprocess.py --show-statements
    SALES_DATABASE_URL=... .venv/bin/python bench/stage_change_inprocess.py --dump out.json --requests 200

As the harness's load does: a random RM of 50 moves one of its open pipelines to the next stage (the last step is
CLOSED_LOST, which closes the pipeline and completes its allocation). Prints one JSON line: process CPU per stage
change (not wall time: the machine is shared), the statements per request and the status codes. The changes stay in
the database (use a clone).

`--with-loss-reason` closes with a reason (every request a 200, closings included). `--show-statements` prints the statements of one stage change. `--dump` freezes the business clock (a fixed instant,
one second later per request) and writes every response (status, body) plus the rows the requests wrote (outbox,
audit, history, allocations, leads; ids and hashes left out) to a JSON file: run it with the old and the new code on
two fresh clones of the same seed and compare the files.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import event, text

from sales.bench import capture
from sales.bench.harness import asyncpg_dsn, build_world
from sales.bench.load import NEXT_STAGE
from sales.settings import get_settings

API = capture.API
FROZEN = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)


async def main(requests: int, profile: str | None, show: bool, dump: str | None, with_reason: bool = False) -> dict:
    from sales.app import create_app
    from sales.core import http as core_http
    from sales.core.db import create_engine

    settings = capture._app_settings(get_settings())
    world = await build_world(asyncpg_dsn(settings.database_url), 50, random.Random(6))
    engine = create_engine(settings)
    app = create_app(settings, engine=engine)
    rng = random.Random(19)
    statements: list[str] = []
    event.listen(engine.sync_engine, "before_cursor_execute", lambda _c, _cur, sql, *a: statements.append(sql))
    codes: Counter = Counter()
    open_ = [[p for p in rm["pipelines"] if p[1] in NEXT_STAGE] for rm in world["rms"]]
    responses: list = []
    tick = [0]
    if dump:
        async def frozen_now(conn, *, frozen_allowed):  # noqa: ANN001, ARG001
            tick[0] += 1
            return FROZEN + timedelta(seconds=tick[0])
        core_http.business_now = frozen_now

    async def one(client: httpx.AsyncClient) -> None:
        i = rng.randrange(len(world["rms"]))
        while not open_[i]:
            i = rng.randrange(len(world["rms"]))
        pipeline = rng.choice(open_[i])
        target = NEXT_STAGE[pipeline[1]]
        body = {"stage": target}
        if (dump or with_reason) and target == "CLOSED_LOST":  # the harness sends none (422)
            body["loss_reason"] = "Bought elsewhere"
        response = await client.patch(f"{API}/pipelines/{pipeline[0]}/stage", json=body,
                                      headers={"Authorization": f"Bearer {world['rms'][i]['token']}"})
        codes[response.status_code] += 1
        if dump:
            responses.append([pipeline[0], target, response.status_code, response.text])
        if response.status_code == 200:
            pipeline[1] = target
        if response.status_code != 200 or target not in NEXT_STAGE:
            open_[i].remove(pipeline)

    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
            for _ in range(20 if not dump else 0):  # warm-up: caches, prepared statements
                await one(client)
            if show:
                return await capture.show_statements(one, client, statements, codes)
            statements.clear()
            profiler = None
            if profile:
                from pyinstrument import Profiler
                profiler = Profiler(async_mode="enabled", interval=0.0005)
                profiler.start()
            cpu, wall = time.process_time(), time.perf_counter()
            for _ in range(requests):
                await one(client)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            if profiler:
                profiler.stop()
                open(profile, "w").write(profiler.output_text(unicode=False, show_all=False))
        if dump:
            rows = {}
            async with engine.connect() as conn:
                for name, sql in DUMP_QUERIES.items():
                    result = await conn.execute(text(sql), {"since": FROZEN})
                    rows[name] = [[str(v) for v in r] for r in result]
            with open(dump, "w") as out:
                json.dump({"responses": responses, "rows": rows}, out, indent=0)
    finally:
        await engine.dispose()
    return {"requests": requests, "cpu_ms": round(cpu * 1000 / requests, 3),
            "wall_ms": round(wall * 1000 / requests, 3), "statements": round(len(statements) / requests, 2),
            "codes": dict(codes)}


DUMP_QUERIES = {
    "outbox": "SELECT type, subject, (envelope - 'id')::text, created_at FROM outbox_events WHERE created_at > :since "
              "ORDER BY seq",
    "audit": "SELECT actor_id, actor_roles::text, action, entity_type, entity_id, before::text, after::text, at "
             "FROM audit_log WHERE at > :since ORDER BY seq",
    "history": "SELECT pipeline_id, from_stage, to_stage, changed_by, changed_at, reason "
               "FROM pipeline_stage_history WHERE changed_at > :since ORDER BY seq",
    "allocations": "SELECT id, status, first_action_at, accepted_at, ended_at, updated_at FROM rm_allocations "
                   "WHERE updated_at > :since ORDER BY updated_at, id",
    "leads": "SELECT id, allocation_status, updated_at FROM leads WHERE updated_at > :since ORDER BY updated_at, id",
    "rms": "SELECT id, active_leads, override_leads FROM rms ORDER BY id",
    "alerts": "SELECT * FROM allocation_queue_alerts ORDER BY key",
    "pipelines": "SELECT * FROM sales_pipelines WHERE updated_at > :since ORDER BY updated_at, id",
}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--profile")
    parser.add_argument("--show-statements", action="store_true")
    parser.add_argument("--dump")
    parser.add_argument("--with-loss-reason", action="store_true", help="close with a loss reason (200, not 422)")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.requests, args.profile, args.show_statements, args.dump,
                                      args.with_loss_reason))))
