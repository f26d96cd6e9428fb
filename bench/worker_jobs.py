#!/usr/bin/env python3
"""Issue 19 (session 12): the `sales worker`'s periodic jobs on a seeded database.

    SALES_DATABASE_URL=... .venv/bin/python bench/worker_jobs.py time [job ...] [--shift-minutes M]
    SALES_DATABASE_URL=... .venv/bin/python bench/worker_jobs.py sweep-ab [--rounds 2] [--shift-minutes 40]

`time`: runs each job (or the named ones) once in a transaction that is rolled back, with business time moved by
`--shift-minutes` (e.g. 40 to make the seeded PENDING allocations due); prints wall, process CPU, SQL time and the
statement count per job, and the slowest statements. Nothing is written.

`sweep-ab`: the SLA sweep as one transaction of 200 expiries vs 8 transactions of 25, alternately; prints the
longest transaction (how long the lead and RM row locks are held) and CPU per expiry. It COMMITS: run it on a
clone of a bench database only.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import time
from datetime import timedelta

import orjson
from sqlalchemy import event

from sales.allocation import jobs as allocation_jobs
from sales.core.clock import business_now
from sales.core.db import create_engine, unit_of_work
from sales.core.http import dumps
from sales.settings import Settings
from sales.worker import discover_jobs


async def time_jobs(names: list[str], shift: timedelta) -> None:
    engine = create_engine(Settings(), pool_size=2)
    stmts: list[tuple[float, str]] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _before(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        conn.info.setdefault("t0", []).append(time.perf_counter())

    @event.listens_for(engine.sync_engine, "after_cursor_execute")
    def _after(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        stmts.append((time.perf_counter() - conn.info["t0"].pop(), statement))

    for name, job in sorted(discover_jobs().items()):
        if names and name not in names:
            continue
        async with engine.connect() as conn:
            transaction = await conn.begin()
            now = await business_now(conn, frozen_allowed=True) + shift
            stmts.clear()
            cpu0, wall0 = time.process_time(), time.perf_counter()
            try:
                result = orjson.loads(dumps(await job.run(conn, now)))
            except Exception as exc:  # noqa: BLE001 - report and go on with the next job
                result = {"error": type(exc).__name__}
            wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
            await transaction.rollback()
        print(f"{name:24s} wall {wall * 1000:9.1f} ms  cpu {cpu * 1000:8.1f} ms  "
              f"sql {sum(s[0] for s in stmts) * 1000:9.1f} ms  statements {len(stmts):5d}  {result}", flush=True)
        for seconds, statement in sorted(stmts, reverse=True)[:3]:
            if seconds > 0.05:
                print(f"    {seconds * 1000:8.1f} ms  {' '.join(statement.split())[:200]}")
    await engine.dispose()


async def sweep_ab(rounds: int, shift: timedelta) -> None:
    engine = create_engine(Settings(), pool_size=2)

    async def batch(size: int) -> tuple[dict, float, float]:
        allocation_jobs.SWEEP_BATCH = size
        cpu0, wall0 = time.process_time(), time.perf_counter()
        async with unit_of_work(engine) as conn:
            result = await allocation_jobs.sla_sweep(conn, await business_now(conn, frozen_allowed=True) + shift)
        return result, (time.perf_counter() - wall0) * 1000, (time.process_time() - cpu0) * 1000

    for _ in range(rounds):
        load = os.getloadavg()
        result, wall, cpu = await batch(200)
        print(f"one transaction of {result['processed']}: {wall:.0f} ms, cpu {cpu:.0f} ms "
              f"({cpu / max(1, result['processed']):.1f} ms per expiry), load {load}", flush=True)
        load, walls, cpus, done = os.getloadavg(), [], [], 0
        for _ in range(8):
            result, wall, cpu = await batch(25)
            walls.append(wall), cpus.append(cpu)
            done += result["processed"]
        print(f"8 transactions, {done} expiries: longest {max(walls):.0f} ms, all {sum(walls):.0f} ms, cpu "
              f"{sum(cpus):.0f} ms ({sum(cpus) / max(1, done):.1f} ms per expiry), load {load}", flush=True)
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["time", "sweep-ab"])
    parser.add_argument("jobs", nargs="*")
    parser.add_argument("--shift-minutes", type=float, default=0.0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    shift = timedelta(minutes=args.shift_minutes)
    if args.what == "time":
        asyncio.run(time_jobs(args.jobs, shift))
    else:
        asyncio.run(sweep_ab(args.rounds, shift))


if __name__ == "__main__":
    main()
