#!/usr/bin/env python3
"""Issue 20: what the audit hash chain adds to a write.

    SALES_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/scratch .venv/bin/python bench/audit_chain_cost.py \
        [--writes 1000 --writers 8]

On a migrated scratch database (its audit rows are deleted afterwards): transactions of one audit row each,
written as before (a plain INSERT) and through the chain (`core.audit.record`: head UPDATE ... RETURNING,
INSERT, head UPDATE), first one after the other (latency and process CPU per write), then by `--writers`
concurrent connections (throughput; writers of one partition wait for each other). Prints one JSON line.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete

from sales.core import audit
from sales.core.auth import Principal, Role
from sales.core.db import create_engine, unit_of_work
from sales.core.tables import audit_chain, audit_log
from sales.settings import load_settings

AT = datetime(2026, 1, 17, 10, 0, tzinfo=UTC)
PRINCIPAL = Principal(sub=uuid.uuid4(), roles=frozenset({Role.RM}))
AFTER = {"stage": "CONTACTED", "deal_value": "25000.00", "notes": "Customer looking for 2BHK in Koramangala"}


async def _plain(conn: Any) -> None:
    await conn.execute(audit_log.insert().values(
        id=uuid.uuid4(), at=AT, actor_id=PRINCIPAL.sub, actor_roles=["RM"], action="bench.write",
        entity_type="pipeline", entity_id=str(uuid.uuid4()), before=None, after=AFTER, request_id=None))


async def _chained(conn: Any) -> None:
    await audit.record(conn, PRINCIPAL, action="bench.write", entity_type="pipeline", entity_id=uuid.uuid4(),
                       at=AT, after=AFTER)


async def _run(engine: Any, write: Any, writes: int, writers: int) -> tuple[float, float]:
    async def one_writer(count: int) -> None:
        for _ in range(count):
            async with unit_of_work(engine) as conn:
                await write(conn)

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(one_writer(writes // writers) for _ in range(writers)))
    return time.process_time() - cpu, time.perf_counter() - wall


async def main(writes: int, writers: int) -> dict[str, Any]:
    engine = create_engine(load_settings(), pool_size=writers)
    result: dict[str, Any] = {"writes": writes, "writers": writers}
    try:
        for name, write in (("plain", _plain), ("chained", _chained)):
            await _run(engine, write, 100, 1)  # warm up
            cpu, wall = await _run(engine, write, writes, 1)
            result[f"{name}_ms_per_write"] = round(wall / writes * 1000, 3)
            result[f"{name}_cpu_us_per_write"] = round(cpu / writes * 1e6, 1)
            _, wall = await _run(engine, write, writes, writers)
            result[f"{name}_writes_per_s_{writers}_writers"] = round(writes / wall)
    finally:
        async with unit_of_work(engine) as conn:
            await conn.execute(delete(audit_log).where(audit_log.c.action == "bench.write"))
            await conn.execute(delete(audit_chain))
        await engine.dispose()
    result["load_average"] = os.getloadavg()
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--writes", type=int, default=1000)
    parser.add_argument("--writers", type=int, default=8)
    arguments = parser.parse_args()
    print(json.dumps(asyncio.run(main(arguments.writes, arguments.writers))))
